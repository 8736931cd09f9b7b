import type { LedgerEntry } from './ledger.schema.ts';

/** An entry as the API shows it (internal bookkeeping such as reversal links left out). */
export type PublicEntry = Pick<
  LedgerEntry,
  'id' | 'payeeId' | 'asset' | 'amount' | 'kind' | 'cause' | 'state' | 'createdAt' | 'unlockAt' | 'held'
> &
  Partial<Pick<LedgerEntry, 'holdDecision' | 'payoutId' | 'campaignId' | 'reverses'>>;

/** The API view of an entry. */
export function publicEntry(e: LedgerEntry): PublicEntry {
  return {
    id: e.id,
    payeeId: e.payeeId,
    asset: e.asset,
    amount: e.amount,
    kind: e.kind,
    cause: e.cause,
    state: e.state,
    createdAt: e.createdAt,
    unlockAt: e.unlockAt,
    held: e.held,
    ...(e.holdDecision ? { holdDecision: e.holdDecision } : {}),
    ...(e.payoutId ? { payoutId: e.payoutId } : {}),
    ...(e.campaignId ? { campaignId: e.campaignId } : {}),
    ...(e.reverses ? { reverses: e.reverses } : {}),
  };
}
