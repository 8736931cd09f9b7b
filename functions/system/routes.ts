import { createRoute, z } from '@hono/zod-openapi';
import { z as zod } from 'zod';
import { AppError } from '#shared/errors';
import { detailSchema, EVENT_NAMES, EVENT_SOURCE } from '#shared/events/schemas';
import type { AreaApp } from '#shared/http/context';
import { MAX_KEY_LENGTH } from '#shared/http/idempotency';
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
    cached ??= withEvents(
      withOperationIds(
        withRateLimits(
          withIdempotencyKey(app.getOpenAPI31Document({ openapi: '3.1.0', info: API_INFO, servers: [{ url: '/' }] })),
        ),
      ),
    );
    return cached;
  };

  // GET /openapi.json — the OpenAPI 3.1 spec, generated from the schemas that validate requests
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/openapi.json',
    tags: ['System'],
    summary: 'This OpenAPI 3.1 document',
    description:
      'Generated from the same schemas that validate requests; every EventBridge event’s `detail` is under `webhooks`.',
    responses: {
      200: { description: 'The document', content: { 'application/json': { schema: z.object({}).passthrough() } } },
    },
  });
  app.get('/openapi.json', (c) => c.json(document()));

  // GET /docs — a readable reference page that needs no network
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/docs',
    tags: ['System'],
    summary: 'A readable reference of this API',
    description: 'One HTML page rendered from this document, loading nothing from elsewhere (it works offline).',
    responses: { 200: { description: 'The page', content: { 'text/html': { schema: z.string() } } } },
  });
  app.get('/docs', (c) => c.html(renderDocsPage(document() as OpenApiDoc)));
}

/** `Idempotency-Key`, which the idempotency middleware of every POST reads (not a zod schema of its route). */
const IDEMPOTENCY_KEY = {
  name: 'Idempotency-Key',
  in: 'header' as const,
  required: false,
  schema: { type: 'string' as const, minLength: 1, maxLength: MAX_KEY_LENGTH },
  description:
    'Scope: caller + route + key, kept at least 24 h. The same key and body replay the first answer (status and body), except a 5xx or an answer with `Retry-After` (a 409 `conflict` after losing to concurrent writes, a 429), which leave the key free for the retry; another body → 422 `idempotency_key_reused`; while the first is running → 409 `idempotency_in_progress`. A request cut off after it took effect but before its answer was kept (a crash, a timeout) counts as running for up to 60 s (on the local server, only until it restarts); a retry after that finds what it made: links, shares, campaigns, bargain chains and payouts are not made twice (their ids come from the key), and a help, join, accept, group open, bargain start, purchase or invite code that landed answers 201 again.',
};

/** A problem document, as every error answers. */
const PROBLEM = { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } };
/** `Retry-After`, on answers that say when to try again. */
const RETRY_AFTER = {
  'Retry-After': { description: 'Seconds to wait before trying again', schema: { type: 'integer' } },
};

/** What a POST answers for its `Idempotency-Key`, beside its own answers. */
const KEY_ANSWERS = {
  409: {
    description: 'idempotency_in_progress: a request with this key is still running (with Retry-After)',
    headers: RETRY_AFTER,
    content: PROBLEM,
  },
  422: { description: 'idempotency_key_reused: this key was used with another body', content: PROBLEM },
};

type Operation = { parameters?: unknown[]; responses?: Record<string, unknown> } | undefined;

/** The spec with `Idempotency-Key` declared on every POST, and the 409 and 422 it may answer. */
function withIdempotencyKey<D extends { paths?: object }>(doc: D): D {
  for (const item of Object.values((doc.paths ?? {}) as Record<string, Record<string, Operation>>)) {
    const post = item.post;
    if (!post) continue;
    post.parameters = [...(post.parameters ?? []), IDEMPOTENCY_KEY];
    post.responses ??= {};
    for (const [status, answer] of Object.entries(KEY_ANSWERS)) {
      const own = post.responses[status] as { description?: string; headers?: Record<string, unknown> } | undefined;
      // A route's own answer naming the key's code already stays; one for other conflicts gains it.
      const code = answer.description.split(':')[0]!;
      if (own?.description?.includes(code)) continue;
      post.responses[status] = own
        ? {
            ...own,
            description: `${own.description}; or ${answer.description}`,
            headers: { ...own.headers, ...('headers' in answer ? answer.headers : {}) },
          }
        : answer;
    }
  }
  return doc;
}

/** The answer of the per-IP and per-user limits, which stand before every `/v1` route (not a response of its own schema). */
const RATE_LIMITED = {
  description: 'rate_limited: over the per-IP or per-user limit (RATE_LIMIT_IP_PER_SEC, RATE_LIMIT_USER_PER_SEC)',
  headers: RETRY_AFTER,
  content: PROBLEM,
};

/**
 * The spec with 429 declared on every `/v1` operation that does not declare it already, and
 * `Retry-After` on every 429 (the limits of a route's own, like `daily_help_limit`, send it too).
 */
function withRateLimits<D extends { paths?: object }>(doc: D): D {
  for (const [path, item] of Object.entries((doc.paths ?? {}) as Record<string, Record<string, Operation>>))
    if (path.startsWith('/v1/'))
      for (const op of Object.values(item)) {
        if (!op?.responses) continue;
        const own = op.responses['429'] as { headers?: Record<string, unknown> } | undefined;
        op.responses['429'] = own ? { ...own, headers: { ...RETRY_AFTER, ...own.headers } } : RATE_LIMITED;
      }
  return doc;
}

/**
 * An operation's id, as client generators name their methods: the method and the path's words in
 * camel case, a parameter as `By<Name>` (`POST /v1/invites/{code}/accept` → `postInvitesByCodeAccept`).
 * Made from the method and path, so it is unique and stays the same while the route does.
 */
function operationIdOf(method: string, path: string): string {
  const words = path
    .split('/')
    .filter((segment) => segment !== '' && segment !== 'v1')
    .flatMap((segment) => {
      const param = /^\{(.+)\}$/.exec(segment);
      return param ? ['by', ...param[1]!.split(/[^A-Za-z0-9]+/)] : segment.split(/[^A-Za-z0-9]+/);
    });
  return [method.toLowerCase(), ...words.filter(Boolean).map((w) => w[0]!.toUpperCase() + w.slice(1))].join('');
}

/** The spec with an `operationId` on every operation (operationIdOf). */
function withOperationIds<D extends { paths?: object }>(doc: D): D {
  for (const [path, item] of Object.entries((doc.paths ?? {}) as Record<string, Record<string, Operation>>))
    for (const [method, op] of Object.entries(item))
      if (op) (op as { operationId?: string }).operationId ??= operationIdOf(method, path);
  return doc;
}

/**
 * The spec with the events Fission puts on EventBridge, as OpenAPI 3.1 `webhooks` (what a
 * consumer receives): each one's `detail` schema, the one consumers validate with.
 */
function withEvents<D extends object>(doc: D): D {
  const webhooks: Record<string, unknown> = {};
  for (const name of EVENT_NAMES) {
    const { $schema: _, ...detail } = openEnded(
      zod.toJSONSchema(detailSchema(name), { io: 'output', unrepresentable: 'any' }),
    ) as Record<string, unknown>;
    webhooks[name] = {
      post: {
        tags: ['Events'],
        summary: `${name} (EventBridge, source ${EVENT_SOURCE})`,
        description:
          `Put on the bus with source \`${EVENT_SOURCE}\` and detail-type \`${name}\`. Delivery is at least once and ` +
          'in any order: a consumer must take each event once however often it arrives (`detail.eventId` names it). A consumer that keeps failing sends the event to a ' +
          'dead-letter queue (GET /v1/admin/dead-letters, POST /v1/admin/dead-letters/{id}/redrive).',
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['id', 'source', 'detail-type', 'time', 'detail'],
                properties: {
                  id: { type: 'string' },
                  source: { const: EVENT_SOURCE },
                  'detail-type': { const: name },
                  time: { type: 'string', format: 'date-time' },
                  detail,
                },
              },
            },
          },
        },
        responses: { 200: { description: 'Taken by the consumer' } },
      },
    };
  }
  return Object.assign(doc, { webhooks });
}

/**
 * A JSON Schema without `additionalProperties: false`: consumers take an event with fields a later
 * release adds (they validate with zod objects, which drop unknown keys), and so may others.
 */
function openEnded(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(openEnded);
  if (!schema || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema))
    if (!(k === 'additionalProperties' && v === false)) out[k] = openEnded(v);
  return out;
}
