import type { Deps } from '../../deps.ts';
import { NotFoundError } from '../../errors.ts';
import { findPayout, listPayoutItems } from '../../store/ledger.ts';
import type { Payout, PayoutItem } from './ledger.schema.ts';

/** A payout with its lines, as the finance API answers it. */
export interface PayoutDetail extends Payout {
  items: (Pick<PayoutItem, 'payeeId' | 'amount' | 'status'> & { reason?: string; entries: number })[];
}

/** Reads a payout and its lines (404 when there is no such payout). */
export async function loadPayout(deps: Pick<Deps, 'store'>, id: string): Promise<PayoutDetail> {
  const payout = await findPayout(deps.store, id);
  if (!payout) throw new NotFoundError('payout');
  const items = await listPayoutItems(deps.store, id);
  return {
    ...payout,
    items: items.map((i) => ({
      payeeId: i.payeeId,
      amount: i.amount,
      status: i.status,
      entries: i.entryIds.length,
      ...(i.reason ? { reason: i.reason } : {}),
    })),
  };
}
