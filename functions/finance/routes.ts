import { createRoute, z } from '@hono/zod-openapi';
import { stream } from 'hono/streaming';
import { confirmPayout } from '#shared/domain/ledger/confirm-payout';
import { createPayout } from '#shared/domain/ledger/create-payout';
import { exportLedger } from '#shared/domain/ledger/export-ledger';
import { failPayoutItem } from '#shared/domain/ledger/fail-payout-item';
import {
  confirmPayoutSchema,
  createPayoutSchema,
  failPayoutItemSchema,
  ledgerQuerySchema,
  PAYOUT_STATUSES,
  periodSchema,
} from '#shared/domain/ledger/ledger.schema';
import { loadPayout } from '#shared/domain/ledger/payout-view';
import { publicEntry } from '#shared/domain/ledger/public-entry';
import { reconcileLedger } from '#shared/domain/ledger/reconcile';
import { rejectHold } from '#shared/domain/ledger/reject-hold';
import { releaseHold } from '#shared/domain/ledger/release-hold';
import { csvHeaderLine, csvLine } from '#shared/domain/ledger/rules';
import { createArea, noBody } from '#shared/http/app';
import { requireAuth } from '#shared/http/auth';
import { idempotency, idempotencyKeyOf } from '#shared/http/idempotency';
import {
  bearerSecurity,
  jsonBody,
  jsonResponse,
  noRequestBody,
  pageOf,
  pageQuery,
  problems,
} from '#shared/http/openapi';
import { entrySchema } from './schemas.ts';

const payoutLineSchema = z.object({
  payeeId: z.string(),
  amount: z.number().int().describe('Net of available reversals, minor units'),
  status: z.enum(['in_payout', 'paid', 'failed']).optional(),
  reason: z.string().optional(),
  entries: z.number().int().optional().describe('How many entries the line pays'),
});
const payoutSchema = z
  .object({
    id: z.string(),
    asset: z.literal('cash'),
    status: z.enum(PAYOUT_STATUSES),
    items: z.array(payoutLineSchema),
    total: z.number().int().describe('Sum of the lines not failed'),
    minAmount: z.number().int(),
    createdAt: z.string(),
    confirmedAt: z.string().optional(),
    reference: z.string().optional(),
  })
  .openapi('Payout');
const payoutIdParam = z.object({ id: z.string().min(1).max(64) });
const entryIdParam = z.object({ entryId: z.string().min(1).max(64) });
const checkSchema = z.object({ name: z.string(), ok: z.boolean(), detail: z.string() });
const finance = () => requireAuth('finance');

export const financeRoutes = createArea();

// GET /v1/finance/ledger — ledger entries for a period or payee, as JSON pages or a CSV stream
financeRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/v1/finance/ledger',
    tags: ['Finance'],
    summary: 'Export ledger entries (JSON pages or CSV)',
    description:
      'Entries ordered by `createdAt`, then `id` (stable). Filters: `from`/`to` (ISO-8601 UTC times, or UTC days `YYYY-MM-DD` standing for the whole day; inclusive) and ' +
      '`payeeId`. Without `payeeId` the period defaults to the 31 days before `to` (default now, or `from` when that is still ahead: nothing yet) and may span at ' +
      'most 366 days; with `payeeId` and no period, all of that payee’s entries. `format=json` (default) answers ' +
      'one page (`limit`, `cursor`); `format=csv` answers every matching entry as `text/csv`, streamed page by page: ' +
      'a header row, then one row per entry with `amount` in minor units and `amountFormatted` as a decimal ' +
      '(e.g. `19.99`; points have no decimals). `limit`/`cursor` do not apply to CSV. A text cell starting with ' +
      "`=`, `+`, `-` or `@` (a payee id, say) is written with a leading `'` so a spreadsheet shows it instead of " +
      'running it as a formula; the JSON has the value as it is.',
    security: bearerSecurity,
    middleware: [finance()] as const,
    request: {
      query: ledgerQuerySchema.extend({
        format: z.enum(['json', 'csv']).default('json'),
        ...pageQuery,
      }),
    },
    responses: {
      200: {
        description: 'A page of entries (JSON) or every entry (CSV)',
        content: {
          'application/json': { schema: pageOf(entrySchema) },
          'text/csv': { schema: z.string() },
        },
      },
      ...problems(400, 401, 403),
    },
  }),
  async (c) => {
    const deps = c.get('deps');
    const { format, limit, cursor, ...filter } = c.req.valid('query');
    if (format === 'json') {
      const page = await exportLedger(deps, filter, { limit, cursor });
      return c.json({ items: page.items.map(publicEntry), nextCursor: page.nextCursor }, 200);
    }
    const first = await exportLedger(deps, filter, { limit: 100 });
    c.header('content-type', 'text/csv; charset=utf-8');
    c.header('content-disposition', 'attachment; filename="ledger.csv"');
    return stream(c, async (out) => {
      await out.write(csvHeaderLine());
      let page = first;
      for (;;) {
        if (page.items.length) await out.write(page.items.map(csvLine).join(''));
        if (!page.nextCursor) break;
        page = await exportLedger(deps, filter, { limit: 100, cursor: page.nextCursor });
      }
    });
  },
);

// POST /v1/finance/payouts — pay out every eligible payee's available balance
financeRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/v1/finance/payouts',
    tags: ['Finance'],
    summary: 'Create a payout',
    description:
      'Covers every payee whose available cash (net of available reversals, so a negative balance left by a ' +
      'clawback is netted) is ≥ `minAmount` (default 100) and ≥ the `minPayout` of every commission campaign they ' +
      'earned in. Their available, not-held entries move to `in_payout`, atomically per payee; two payouts created ' +
      'at once never share an entry. Held entries wait for a hold decision, and so does a commission with a refund already taken (its webhook answered) whose reversal is not written yet. Nothing eligible → 201 with empty `items`. ' +
      'The payout is `creating` until every payee is moved, then `pending` with its total; one whose creation was ' +
      'cut off (a crash, a timeout) is made `pending` by the sweeper 15 minutes later with the payees it holds, and ' +
      'the others stay available for the next payout. A `creating` payout can be neither confirmed nor failed (409). ' +
      'With an `Idempotency-Key`, a retry of a request that was cut off before it answered goes on with the payout ' +
      'that request began and answers it whole, instead of making a second one.',
    security: bearerSecurity,
    middleware: [finance(), idempotency()] as const,
    request: { body: jsonBody(createPayoutSchema) },
    responses: { 201: jsonResponse(payoutSchema, 'The payout'), ...problems(400, 401, 403, 409, 422) },
  }),
  async (c) => {
    // With an Idempotency-Key the payout's id comes from it, so a retry of a request cut off
    // mid-creation (a crash, a timeout) finishes that payout instead of starting a second one.
    const key = idempotencyKeyOf(c);
    const request = key === undefined ? undefined : { caller: c.get('principal').sub, key };
    return c.json(await createPayout(c.get('deps'), c.req.valid('json'), request ? { request } : {}), 201);
  },
);

// GET /v1/finance/payouts/:id — one payout with its lines
financeRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/v1/finance/payouts/{id}',
    tags: ['Finance'],
    summary: 'A payout',
    description:
      'The payout as it stands, with every line (`in_payout`, `paid` or `failed`). A client that lost the answer ' +
      'to its creation finds the id on the entries it moved (`payoutId` in the ledger), or retries the creation ' +
      'with the same Idempotency-Key. Unknown id → 404.',
    security: bearerSecurity,
    middleware: [finance()] as const,
    request: { params: payoutIdParam },
    responses: { 200: jsonResponse(payoutSchema, 'The payout'), ...problems(400, 401, 403, 404, 429) },
  }),
  async (c) => c.json(await loadPayout(c.get('deps'), c.req.valid('param').id), 200),
);

// POST /v1/finance/payouts/:id/confirm — record the transfer: entries become paid
financeRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/v1/finance/payouts/{id}/confirm',
    tags: ['Finance'],
    summary: 'Confirm a payout',
    description:
      'Every entry still `in_payout` becomes `paid`; failed lines stay failed. A repeat with the same `reference` → ' +
      '200 with the same payout; another reference → 409 `conflict`. A payout still `creating` → 409 `conflict`.',
    security: bearerSecurity,
    middleware: [finance(), idempotency()] as const,
    request: { params: payoutIdParam, body: jsonBody(confirmPayoutSchema) },
    responses: { 200: jsonResponse(payoutSchema, 'The confirmed payout'), ...problems(400, 401, 403, 404, 409, 422) },
  }),
  async (c) => c.json(await confirmPayout(c.get('deps'), c.req.valid('param').id, c.req.valid('json').reference), 200),
);

// POST /v1/finance/payouts/:id/items/:payeeId/fail — one transfer failed: its entries return to available
financeRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/v1/finance/payouts/{id}/items/{payeeId}/fail',
    tags: ['Finance'],
    summary: 'Fail one payee’s line of a payout',
    description:
      'Only while the payout is pending. The payee’s entries go back to `available` (paid by a later payout) and ' +
      'the payout total drops by the line. A repeat → 200; a payout already confirmed, or still `creating`, → 409 ' +
      '`conflict`.',
    security: bearerSecurity,
    middleware: [finance(), idempotency()] as const,
    request: {
      params: payoutIdParam.extend({ payeeId: z.string().min(1).max(128) }),
      body: jsonBody(failPayoutItemSchema),
    },
    responses: { 200: jsonResponse(payoutSchema, 'The payout'), ...problems(400, 401, 403, 404, 409, 422) },
  }),
  async (c) => {
    const { id, payeeId } = c.req.valid('param');
    return c.json(
      await failPayoutItem(c.get('deps'), { payoutId: id, payeeId, reason: c.req.valid('json').reason }),
      200,
    );
  },
);

const holdDescription =
  'For entries held because both sides share a device. A commission’s reversals are decided with it (deciding a ' +
  'reversal itself → 409). Repeating the same decision → 200; the other decision after one → 409 `conflict`; an ' +
  'entry not held → 409 `conflict`. No body.';

// POST /v1/finance/holds/:entryId/release — pay a held reward normally
financeRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/v1/finance/holds/{entryId}/release',
    tags: ['Finance'],
    summary: 'Release a held entry',
    description: `The entry leaves \`held\` for its state’s bucket (locked until unlockAt, or available). ${holdDescription}`,
    security: bearerSecurity,
    middleware: [finance(), idempotency(), noBody] as const,
    ...noRequestBody,
    request: { params: entryIdParam },
    responses: { 200: jsonResponse(entrySchema, 'The entry'), ...problems(400, 401, 403, 404, 409, 422) },
  }),
  async (c) => c.json(publicEntry(await releaseHold(c.get('deps'), c.req.valid('param').entryId)), 200),
);

// POST /v1/finance/holds/:entryId/reject — void a held reward
financeRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/v1/finance/holds/{entryId}/reject',
    tags: ['Finance'],
    summary: 'Reject a held entry',
    description: `The entry becomes \`rejected\` (void, kept for the record) and leaves the balance. ${holdDescription}`,
    security: bearerSecurity,
    middleware: [finance(), idempotency(), noBody] as const,
    ...noRequestBody,
    request: { params: entryIdParam },
    responses: { 200: jsonResponse(entrySchema, 'The entry'), ...problems(400, 401, 403, 404, 409, 422) },
  }),
  async (c) => c.json(publicEntry(await rejectHold(c.get('deps'), c.req.valid('param').entryId)), 200),
);

// GET /v1/finance/reconciliation — prove entries, balances and payouts agree
financeRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/v1/finance/reconciliation',
    tags: ['Finance'],
    summary: 'Reconcile the ledger',
    description:
      'Computed from the entries themselves. Checks: `balances_match_entries` (per payee and asset, every bucket ' +
      'equals the sum of its entries), `paid_entries_in_one_confirmed_payout`, `no_cause_settled_twice`, ' +
      '`reversals_within_commission`, `payout_totals_match`, `negative_available_reported` (negative available ' +
      'balances are listed in `detail`, shown as they are), `attributed_orders_in_ledger` (every order that earned ' +
      'a commission and was recorded in the period, without one the last 31 days, has its commission entry for its ' +
      'KOL and amount, and every refund recorded in that period that reverses commission has its reversal entry), ' +
      '`rewarded_invites_in_ledger` (every invite that qualified with a reward in that period has an entry for each ' +
      'side with a reward, of its asset and amount). An entry still missing `SETTLE_GRACE_MINUTES` (15 locally; ' +
      '31 hours deployed, the longest an event can still be retried) after its order, refund or invite was recorded ' +
      'is an event that never settled, lost or in the dead letters; younger ones count as settling in ' +
      '`totals.sources`, unless their event is already in a ledger consumer’s dead letters: those fail at once, ' +
      'naming the letter to redrive. A failing check names each failing item. Without ' +
      '`from`/`to`: all time. With a period (ISO-8601 UTC times, or UTC days standing for the whole day; ≤ 366 days): the period’s entries, and all entries of the payees seen ' +
      'in it for the balance check (a balance covers all time), and `totals.activity` counts the group-buy and ' +
      'bargain outcomes recorded for finance in the period, by event type (the ledger pays nothing for them). ' +
      'A failure is reported only when it holds on a stable re-read: each payee or payout failing the first pass is ' +
      're-read on its own until a read passes or two in a row fail the same way, so writes landing during the check ' +
      '(unlocks, payouts, settlement) never show as mismatches. `totals.unsettled` (present only then) lists the ' +
      'payees and payouts that kept changing on every re-read and so were not compared. Entries in a payout still ' +
      'being created or confirmed count as in it.',
    security: bearerSecurity,
    middleware: [finance()] as const,
    request: { query: periodSchema },
    responses: {
      200: jsonResponse(
        z.object({
          ok: z.boolean(),
          totals: z.record(z.string(), z.unknown()),
          checks: z.array(checkSchema),
          period: z.object({ from: z.string(), to: z.string() }).nullable(),
        }),
        'The reconciliation',
      ),
      ...problems(400, 401, 403),
    },
  }),
  async (c) => c.json(await reconcileLedger(c.get('deps'), c.req.valid('query')), 200),
);
