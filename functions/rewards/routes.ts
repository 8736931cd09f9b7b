import { createRoute, z } from '@hono/zod-openapi';
import { getMyRewards } from '#shared/domain/ledger/get-my-rewards';
import { createArea } from '#shared/http/app';
import { requireAuth } from '#shared/http/auth';
import { bearerSecurity, jsonResponse, pageOf, pageQuery, problems } from '#shared/http/openapi';
import { bucketsSchema, entrySchema } from '../finance/schemas.ts';

export const rewardsRoutes = createArea();

// GET /v1/rewards/mine — the caller's balances and ledger entries
rewardsRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/v1/rewards/mine',
    tags: ['Rewards'],
    summary: 'My balances and reward entries',
    description:
      'Balances per asset, `cash` and `points` always present (zeros before any reward): `locked`, `available`, ' +
      '`inPayout`, `paid`, plus `held` for entries awaiting review; and ' +
      'the entries, newest first. An entry shows `locked` until the unlock sweep moves it at `unlockAt` (the sweep ' +
      'runs every minute on AWS, every second locally); a locked amount is never shown as available. `available` ' +
      'may be negative after a refund clawed back commission already paid; the next payout nets it. ' +
      'Open to tokens with role `user` or `kol` (KOLs see their commission here).',
    security: bearerSecurity,
    middleware: [requireAuth('user', 'kol')] as const,
    request: { query: z.object(pageQuery) },
    responses: {
      200: jsonResponse(
        z.object({ balances: z.record(z.string(), bucketsSchema), entries: pageOf(entrySchema) }),
        'Balances per asset and a page of entries',
      ),
      ...problems(400, 401, 403),
    },
  }),
  async (c) => c.json(await getMyRewards(c.get('deps'), c.get('principal').sub, c.req.valid('query')), 200),
);
