import { createRoute, z } from '@hono/zod-openapi';
import { startBargainSchema } from '#shared/domain/bargains/bargain.schema';
import { NEW_USER_BONUS_FACTOR } from '#shared/domain/bargains/cut-schedule';
import { getBargain } from '#shared/domain/bargains/get-bargain';
import { helpBargain } from '#shared/domain/bargains/help-bargain';
import { purchaseBargain } from '#shared/domain/bargains/purchase-bargain';
import { startBargain } from '#shared/domain/bargains/start-bargain';
import { createArea, noBody } from '#shared/http/app';
import { requireAuth } from '#shared/http/auth';
import { idempotency } from '#shared/http/idempotency';
import { bearerSecurity, jsonBody, jsonResponse, noRequestBody, problems } from '#shared/http/openapi';
import { VIA_DOC } from '#shared/http/via';
import { settledVia } from '../links/background.ts';

const statusSchema = z
  .enum(['active', 'completed', 'expired', 'purchased'])
  .describe('active → completed (price reached the floor) | expired | purchased');

const chainSchema = z
  .object({
    id: z.string(),
    campaignId: z.string(),
    initiatorId: z.string(),
    status: statusSchema,
    sku: z.string(),
    originalPrice: z.number().int(),
    floorPrice: z.number().int(),
    price: z.number().int().describe('Current price: originalPrice minus the sum of all cuts so far'),
    helpersRequired: z.number().int(),
    helperCount: z.number().int(),
    allowBuyAtCurrentPrice: z.boolean(),
    expiresAt: z.string(),
    createdAt: z.string(),
    shareUrl: z.string().describe('H5 page of the chain: `<H5_BASE_URL>/bargains/<id>`'),
    entitlementId: z
      .string()
      .optional()
      .describe('Initiator only, once completed or purchased: what the shop sells at the bargain price'),
  })
  .openapi('BargainChain');

const helperSchema = z
  .object({
    displayName: z.string().optional().describe('Masked display name (`张*`, `A****`) from the JWT `name` claim'),
    cut: z.number().int(),
    helpedAt: z.string(),
    helperId: z.string().optional().describe('Only shown to the initiator'),
  })
  .openapi('BargainHelper');

const chainWithHelpersSchema = chainSchema
  .extend({ helpers: z.array(helperSchema).describe('In the order they helped') })
  .openapi('BargainChainWithHelpers');

const helpResultSchema = z
  .object({ cut: z.number().int(), price: z.number().int(), helperCount: z.number().int(), status: statusSchema })
  .openapi('BargainHelpResult');

const purchaseSchema = z
  .object({ entitlementId: z.string(), price: z.number().int(), chainId: z.string() })
  .openapi('BargainPurchase');

const idParam = z.object({ id: z.string().min(1).max(64) });

const STOCK_RULE =
  'Stock: when the campaign has `stock`, each chain uses one unit exactly once — when its last help completes it, or when it is bought at the current price while still active (buying a completed chain uses nothing more). The unit is taken in the same transaction, so stock is never oversold. With the stock used up, starting a chain answers 409 `conflict` (detail: the stock is used up), the help that would complete a chain answers the same (the chain stays one help short), and buying an active chain answers 409 `bargain_not_purchasable`.';

export const bargainRoutes = createArea();

// POST /v1/bargains — start a chain (or get the active one)
bargainRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/v1/bargains',
    tags: ['Bargains'],
    summary: 'Start a help-me-cut chain',
    description: [
      'Starts a chain for the caller in a bargain campaign: 201 with the new chain, or 200 with the caller’s chain that is already active in that campaign (one active chain per user per campaign; a chain that completed, expired or was bought frees the slot). A retry with the Idempotency-Key of the start that made that chain, after its answer was lost, answers 201.',
      'The cut schedule is decided here and stored with the chain, so helpers cannot change the outcome by timing (see the help endpoint for its shape).',
      'The chain expires `durationSeconds` after start, or at the campaign’s `endsAt` if that is sooner.',
      'A campaign that is scheduled, paused or ended → 409 `campaign_inactive`.',
      STOCK_RULE,
    ].join('\n\n'),
    security: bearerSecurity,
    middleware: [requireAuth('user'), idempotency()] as const,
    request: { body: jsonBody(startBargainSchema) },
    responses: {
      200: jsonResponse(chainSchema, 'The caller’s chain already active in this campaign'),
      201: jsonResponse(chainSchema, 'The new chain'),
      ...problems(400, 401, 403, 404, 409, 422, 429),
    },
  }),
  async (c) => {
    const { chain, created } = await startBargain(c.get('deps'), {
      ...c.req.valid('json'),
      userId: c.get('principal').sub,
      ...(c.get('requestKey') ? { requestKey: c.get('requestKey') } : {}),
    });
    return created ? c.json(chain, 201) : c.json(chain, 200);
  },
);

// GET /v1/bargains/:id — a chain with its helpers
bargainRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/v1/bargains/{id}',
    tags: ['Bargains'],
    summary: 'Get a chain and its helpers',
    description:
      'Any signed-in user may read a chain (it is meant to be shared). An active chain past `expiresAt` reads as `expired` at once, before the sweeper records it. Helpers show masked display names only; their user ids are shown to the initiator alone.',
    security: bearerSecurity,
    middleware: [requireAuth()] as const,
    request: { params: idParam },
    responses: { 200: jsonResponse(chainWithHelpersSchema, 'The chain'), ...problems(401, 404) },
  }),
  async (c) =>
    c.json(
      await getBargain(c.get('deps'), { chainId: c.req.valid('param').id, viewerId: c.get('principal').sub }),
      200,
    ),
);

// POST /v1/bargains/:id/helps — help a friend cut the price
bargainRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/v1/bargains/{id}/helps',
    tags: ['Bargains'],
    summary: 'Help cut the price (no body)',
    description: [
      'Cuts the chain’s price by the next cut of its schedule. Every cut is ≥ 1, the cuts always sum to `originalPrice - price`, the price never goes below `floorPrice`, and it equals `floorPrice` exactly when `helperCount == helpersRequired`: the helper who completes the chain takes exactly the remainder.',
      'Cut schedule (fixed at start, seeded by the chain id): with n = `helpersRequired`, E = `originalPrice - floorPrice - n` and H_n = 1 + 1/2 + … + 1/n, the k-th cut is 1 plus a share of E with weight in [0.8/k, 1.2/k] (±20 % random around 1/k); the weights are sorted so the schedule never increases — the first helpers cut large, the last few small. Bounds: 1 + floor(E·(2/3)/(k·H_n)) ≤ cut_k ≤ 2 + E·1.5/(k·H_n).',
      `New users (campaign rule \`newUserBonus\`): a helper who has never started or helped any bargain chain before (on any campaign) is new. A new user's cut is up to ${NEW_USER_BONUS_FACTOR}× the scheduled cut, but never so large that a remaining helper would be left less than 1; later helpers' cuts shrink to fit, so the sum rule still holds.`,
      '403 `self_help_forbidden` for the initiator; 409 `already_helped` for a second help by the same user (a retry carrying the Idempotency-Key of the help that landed answers that help again, 201, even once the key’s record was lost in a crash); 409 `bargain_closed` once completed or purchased; 410 `bargain_expired` past `expiresAt`; 429 `daily_help_limit` over `maxHelpsPerUserPerDay` helps in the caller’s current UTC day across all chains (`Retry-After` = seconds to the next UTC midnight); 409 `campaign_inactive` when the campaign is paused or ended, checked before the chain’s own state (a chain that ended at its campaign’s `endsAt` answers this, not 410; a pause made through this process takes effect at once; one made through another Lambda container within a second).',
      STOCK_RULE,
      VIA_DOC,
    ].join('\n\n'),
    security: bearerSecurity,
    middleware: [requireAuth('user'), noBody, idempotency()] as const,
    ...noRequestBody,
    request: { params: idParam },
    responses: {
      201: jsonResponse(helpResultSchema, 'The help landed'),
      ...problems(400, 401, 403, 404, 409, 410, 422, 429),
    },
  }),
  async (c) => {
    const principal = c.get('principal');
    const via = await settledVia(c);
    return c.json(
      await helpBargain(c.get('deps'), {
        chainId: c.req.valid('param').id,
        helperId: principal.sub,
        ...(principal.name ? { helperName: principal.name } : {}),
        ...(via ? { via } : {}),
        ...(c.get('requestKey') ? { requestKey: c.get('requestKey') } : {}),
      }),
      201,
    );
  },
);

// POST /v1/bargains/:id/purchase — the initiator buys at the bargain price
bargainRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/v1/bargains/{id}/purchase',
    tags: ['Bargains'],
    summary: 'Buy the chain at its price (initiator only, no body)',
    description: [
      'Allowed when the chain is `completed` (at the floor price), or while `active` and before `expiresAt` when the campaign has `allowBuyAtCurrentPrice` (at the current price; the campaign must be active). Otherwise 409 `bargain_not_purchasable`. The chain becomes `purchased` and `BargainPurchased` is emitted once; a repeat answers 200 with the same entitlement (201 for a retry with the Idempotency-Key of the purchase that made it, after its answer was lost). Like every action in a campaign, a purchase needs the campaign active (409 `campaign_inactive` once it is paused or ended); a repeat of a purchase already made still answers 200. Anyone but the initiator gets 404.',
      'The `entitlementId` is derived from the chain id: `BargainCompleted` and `BargainPurchased` carry the same one, with the `sku`, `price` and `initiatorId` the shop needs to create the order at the bargain price.',
      STOCK_RULE,
      VIA_DOC,
    ].join('\n\n'),
    security: bearerSecurity,
    middleware: [requireAuth('user'), noBody, idempotency()] as const,
    ...noRequestBody,
    request: { params: idParam },
    responses: {
      200: jsonResponse(purchaseSchema, 'Already purchased: the same entitlement'),
      201: jsonResponse(purchaseSchema, 'Purchased'),
      ...problems(400, 401, 403, 404, 409, 422, 429),
    },
  }),
  async (c) => {
    const { result, created } = await purchaseBargain(c.get('deps'), {
      chainId: c.req.valid('param').id,
      userId: c.get('principal').sub,
      ...(c.get('requestKey') ? { requestKey: c.get('requestKey') } : {}),
    });
    return created ? c.json(result, 201) : c.json(result, 200);
  },
);
