import { createRoute, z } from '@hono/zod-openapi';
import { AppError } from '#shared/errors';
import type { AreaApp } from '#shared/http/context';
import { jsonResponse, problems } from '#shared/http/openapi';
import { campaignKey } from '#shared/store/keys';
import { type OpenApiDoc, renderDocsPage } from './docs-page.ts';

export const API_INFO = {
  title: 'Fission',
  version: '1.0.0',
  description:
    'Growth backend for social commerce: invites, help-me-cut bargains, group buys, KOL attribution links, ' +
    'and a reward ledger. Money is integer minor units; times are ISO-8601 UTC; errors are RFC 9457 problem ' +
    'documents with a stable `code`. Every POST accepts `Idempotency-Key`.',
};

/** Adds `/health`, `/openapi.json` and `/docs` to the app; the spec covers every route mounted before. */
export function mountSystemRoutes(app: AreaApp): void {
  // GET /health — ok once the store answers
  app.openapi(
    createRoute({
      method: 'get',
      path: '/health',
      tags: ['System'],
      summary: 'Health check: 200 once the store answers',
      responses: { 200: jsonResponse(z.object({ status: z.literal('ok') }), 'Healthy'), ...problems(503) },
    }),
    async (c) => {
      try {
        await c.get('deps').store.get(campaignKey('health'));
      } catch {
        throw new AppError(503, 'unavailable', 'The store does not answer.');
      }
      return c.json({ status: 'ok' as const }, 200);
    },
  );

  let cached: ReturnType<AreaApp['getOpenAPI31Document']> | undefined;
  const document = () => {
    cached ??= app.getOpenAPI31Document({ openapi: '3.1.0', info: API_INFO, servers: [{ url: '/' }] });
    return cached;
  };

  // GET /openapi.json — the OpenAPI 3.1 spec, generated from the schemas that validate requests
  app.get('/openapi.json', (c) => c.json(document()));

  // GET /docs — a readable reference page that needs no network
  app.get('/docs', (c) => c.html(renderDocsPage(document() as OpenApiDoc)));
}
