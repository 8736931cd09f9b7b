import { createRoute, z } from '@hono/zod-openapi';
import { getDeadLetter, listDeadLetters, redriveDeadLetter } from '#shared/events/dead-letters';
import { createArea, noBody } from '#shared/http/app';
import { requireAuth } from '#shared/http/auth';
import { idempotency } from '#shared/http/idempotency';
import { bearerSecurity, jsonResponse, noRequestBody, pageOf, pageQuery, problems } from '#shared/http/openapi';

const deadLetterSchema = z
  .object({
    id: z.string(),
    consumer: z.string().describe('The consumer (event rule) that kept failing'),
    event: z.object({
      id: z.string(),
      'detail-type': z.string(),
      source: z.string(),
      time: z.string(),
      detail: z.unknown(),
    }),
    error: z.string(),
    attempts: z.number().int(),
    failedAt: z.string(),
    status: z.enum(['dead', 'redriven']),
    redrivenAt: z.string().optional(),
  })
  .openapi('DeadLetter');

export const adminRoutes = createArea();

// GET /v1/admin/dead-letters — events a consumer kept failing on, newest first
adminRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/v1/admin/dead-letters',
    tags: ['Events'],
    summary: 'List dead-lettered events',
    security: bearerSecurity,
    middleware: [requireAuth('admin')] as const,
    request: { query: z.object(pageQuery) },
    responses: { 200: jsonResponse(pageOf(deadLetterSchema), 'Dead letters'), ...problems(400, 401, 403) },
  }),
  async (c) => c.json(await listDeadLetters(c.get('deps'), c.req.valid('query')), 200),
);

// GET /v1/admin/dead-letters/:id — one dead letter
adminRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/v1/admin/dead-letters/{id}',
    tags: ['Events'],
    summary: 'Get a dead-lettered event',
    security: bearerSecurity,
    middleware: [requireAuth('admin')] as const,
    request: { params: z.object({ id: z.string().min(1).max(64) }) },
    responses: { 200: jsonResponse(deadLetterSchema, 'The dead letter'), ...problems(401, 403, 404) },
  }),
  async (c) => c.json(await getDeadLetter(c.get('deps'), c.req.valid('param').id), 200),
);

// POST /v1/admin/dead-letters/:id/redrive — deliver the event to its consumer again
adminRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/v1/admin/dead-letters/{id}/redrive',
    tags: ['Events'],
    summary: 'Redrive a dead-lettered event',
    description:
      'Delivers the event to its consumer again. Consumers are idempotent, so a redrive never doubles an effect. ' +
      'Answers the dead letter: `status: redriven` on success; on another failure it stays `dead` with the new error.',
    security: bearerSecurity,
    middleware: [requireAuth('admin'), idempotency(), noBody] as const,
    ...noRequestBody,
    request: { params: z.object({ id: z.string().min(1).max(64) }) },
    responses: {
      200: jsonResponse(deadLetterSchema, 'The dead letter after the redrive'),
      ...problems(400, 401, 403, 404),
    },
  }),
  async (c) => {
    const deps = c.get('deps');
    return c.json(await redriveDeadLetter(deps, c.req.valid('param').id, deps.redeliver), 200);
  },
);
