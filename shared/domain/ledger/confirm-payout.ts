import { iso } from '../../clock.ts';
import type { Deps } from '../../deps.ts';
import { ConflictError, NotFoundError } from '../../errors.ts';
import {
  balanceDeltaTx,
  findEntries,
  findPayoutItem,
  listPayoutItems,
  moveEntryTx,
  payoutItemStatusIsTx,
  setPayoutItemStatusTx,
  setPayoutStatus,
} from '../../store/ledger.ts';
import type { PayoutItem } from './ledger.schema.ts';
import { loadPayout, type PayoutDetail } from './payout-view.ts';
import { chunks } from './rules.ts';
import { withFreshReads } from './settlement.ts';

const ENTRIES_PER_TX = 90;

/**
 * Confirms a payout with the external transfer reference: every entry still `in_payout` in it
 * becomes `paid` and its amount moves inPayout → paid; failed lines are left as they are. The
 * payout first turns `confirming` (so no line can fail any more), then each payee's entries are
 * paid, then it turns `confirmed`. A repeat with the same reference answers the same payout
 * (and finishes an interrupted confirmation); another reference → 409 conflict.
 */
export async function confirmPayout(
  deps: Pick<Deps, 'store' | 'clock'>,
  id: string,
  reference: string,
): Promise<PayoutDetail> {
  const start = await setPayoutStatus(deps.store, id, ['pending', 'confirming'], 'confirming', {
    set: { reference },
    guard: { expression: '(attribute_not_exists(#reference) OR #reference = :ref)', values: { ':ref': reference } },
  });
  if (!start.ok) {
    if (!start.old) throw new NotFoundError('payout');
    if (start.old.status === 'creating') throw new ConflictError('conflict', 'This payout is still being created.');
    if (start.old.reference !== reference)
      throw new ConflictError('conflict', `This payout was confirmed with another reference (${start.old.reference}).`);
  }
  const lines = await listPayoutItems(deps.store, id);
  for (const line of lines) if (line.status === 'in_payout') await payLine(deps, line);
  await setPayoutStatus(deps.store, id, ['confirming'], 'confirmed', { set: { confirmedAt: iso(deps.clock.now()) } });
  return loadPayout(deps, id);
}

/** Pays one line; a retry re-reads the line (a concurrent confirmation may have paid it). */
async function payLine(deps: Pick<Deps, 'store'>, first: PayoutItem): Promise<void> {
  let attempt = 0;
  await withFreshReads(async () => {
    const line = attempt++ === 0 ? first : await findPayoutItem(deps.store, first.payoutId, first.payeeId);
    if (line?.status !== 'in_payout') return;
    const entries = (await findEntries(deps.store, line.entryIds)).filter(
      (e) => e.state === 'in_payout' && e.payoutId === line.payoutId,
    );
    const parts = chunks(entries, ENTRIES_PER_TX);
    if (parts.length === 0) parts.push([]);
    for (const [i, part] of parts.entries()) {
      const sum = part.reduce((s, e) => s + e.amount, 0);
      await deps.store.transact([
        ...part.map((e) => moveEntryTx(e, { set: { state: 'paid' }, payoutId: line.payoutId })),
        ...(part.length ? [balanceDeltaTx(line.payeeId, 'cash', { inPayout: -sum, paid: sum })] : []),
        ...(i === parts.length - 1 ? setPayoutItemStatusTx(line, 'paid') : [payoutItemStatusIsTx(line, 'in_payout')]),
      ]);
    }
  });
}
