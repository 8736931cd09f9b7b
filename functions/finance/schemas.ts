import { z } from '@hono/zod-openapi';
import { ENTRY_KINDS, ENTRY_STATES } from '#shared/domain/ledger/ledger.schema';

/** A ledger entry as the API answers it. */
export const entrySchema = z
  .object({
    id: z.string(),
    payeeId: z.string(),
    asset: z.enum(['cash', 'points']),
    amount: z.number().int().describe('Minor units; negative for reversals'),
    kind: z.enum(ENTRY_KINDS),
    cause: z
      .object({ type: z.enum(['invite', 'order', 'refund']), id: z.string() })
      .describe(
        'What the entry pays or takes back: an invite id, an order id, or for a refund "<orderId> <refundId>" (refund ids are unique within their order)',
      ),
    state: z.enum(ENTRY_STATES),
    createdAt: z.string(),
    unlockAt: z.string(),
    held: z.boolean().describe('Held for review (same device on both sides): kept out of payouts until decided'),
    holdDecision: z.enum(['released', 'rejected']).optional(),
    payoutId: z.string().optional(),
    campaignId: z.string().optional(),
    reverses: z.string().optional().describe('Reversals: the commission entry they reverse'),
  })
  .openapi('LedgerEntry');

/** One asset's balance buckets. */
export const bucketsSchema = z
  .object({
    locked: z.number().int(),
    available: z.number().int().describe('May be negative after a clawback; carried into the next payout'),
    inPayout: z.number().int(),
    paid: z.number().int(),
    held: z.number().int().describe('Entries held for review, in neither locked nor available'),
  })
  .openapi('Balance');
