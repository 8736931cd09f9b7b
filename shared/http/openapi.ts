import { z } from '@hono/zod-openapi';
import type { ZodType } from 'zod';

/** RFC 9457 problem document, as every error answers. */
export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string().describe('Stable error code from API.md'),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');

/** Responses every route may give, merged into each route's own. */
export function problems(...statuses: number[]) {
  const out: Record<
    number,
    { description: string; content: { 'application/problem+json': { schema: typeof problemSchema } } }
  > = {};
  for (const s of statuses)
    out[s] = {
      description: DESCRIPTIONS[s] ?? 'Error',
      content: { 'application/problem+json': { schema: problemSchema } },
    };
  return out;
}

const DESCRIPTIONS: Record<number, string> = {
  400: 'validation_failed: malformed JSON, wrong types, unknown fields or out-of-range values',
  401: 'unauthorized (missing/invalid token) or bad_signature (webhooks)',
  403: 'forbidden: the token lacks the role, or the action is refused for this user',
  404: 'not_found (also for another user’s private object)',
  409: 'conflict, with a specific code',
  410: 'gone: the object expired or closed',
  422: 'idempotency_key_reused',
  429: 'rate_limited (with Retry-After) or a specific limit code',
};

/** A required JSON body with this schema (content type checked, unknown fields rejected by the schema). */
export function jsonBody<T extends ZodType>(schema: T, description?: string) {
  return {
    required: true,
    description,
    content: { 'application/json': { schema } },
  } as const;
}

/** A JSON response of this schema. */
export function jsonResponse<T extends ZodType>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema } } } as const;
}

/** `limit` (1–100, default 20) and `cursor`, as every list takes. */
export const pageQuery = {
  limit: z
    .string()
    .regex(/^[0-9]{1,3}$/, 'a whole number from 1 to 100')
    .default('20')
    .transform(Number)
    .pipe(z.number().int().min(1).max(100))
    .openapi({ param: { name: 'limit', in: 'query' }, type: 'integer', minimum: 1, maximum: 100, default: 20 }),
  cursor: z
    .string()
    .max(2048)
    .optional()
    .transform((c) => c || undefined)
    .openapi({
      param: { name: 'cursor', in: 'query' },
      description: 'The `nextCursor` of the page before; absent or empty for the first page',
    }),
};

/** `{ items, nextCursor }`, as every list answers. */
export function pageOf<T extends ZodType>(item: T) {
  return z.object({ items: z.array(item), nextCursor: z.string().nullable() });
}

export const bearerSecurity = [{ bearer: [] }];
export const webhookSecurity = [{ webhookSignature: [] }];

/**
 * The spec's request body of an action that takes none (the `noBody` middleware checks it):
 * documented as such, never validated by the route (an empty body has no JSON to validate).
 */
export const noRequestBody = {
  requestBody: {
    required: false,
    description: 'None: send no body, or `{}`. Anything else → 400 `validation_failed`.',
    content: { 'application/json': { schema: { type: 'object' as const, maxProperties: 0 } } },
  },
};
