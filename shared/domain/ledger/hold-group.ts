import type { Deps } from '../../deps.ts';
import { ConflictError, NotFoundError } from '../../errors.ts';
import { findEntries, findEntry, moveEntryTx } from '../../store/ledger.ts';
import type { TxItem } from '../../store/store.ts';
import type { LedgerEntry } from './ledger.schema.ts';

/**
 * The entries a hold decision applies to: the held entry and its still-held reversals (a
 * reversal is decided with the commission it reverses). `undefined` when the same decision was
 * made already (a repeat answers the entry as it is); a conflict when the other one was.
 */
export async function loadHoldGroup(
  deps: Pick<Deps, 'store'>,
  entryId: string,
  decision: 'released' | 'rejected',
): Promise<{ entry: LedgerEntry; group: LedgerEntry[] } | { entry: LedgerEntry; group: undefined }> {
  const entry = await findEntry(deps.store, entryId);
  if (!entry) throw new NotFoundError('ledger entry');
  if (entry.kind === 'commission_reversal' && entry.reverses)
    throw new ConflictError(
      'conflict',
      `A reversal is released or rejected with the commission it reverses (${entry.reverses}).`,
    );
  if (entry.holdDecision === decision) return { entry, group: undefined };
  if (entry.holdDecision) throw new ConflictError('conflict', `This entry was ${entry.holdDecision} already.`);
  if (!entry.held) throw new ConflictError('conflict', 'This entry is not held for review.');
  const reversals = entry.reversalIds?.length ? await findEntries(deps.store, entry.reversalIds) : [];
  return { entry, group: [entry, ...reversals.filter((r) => r.held && r.state !== 'rejected')] };
}

/** The conditional update of one entry of a hold group (the head also pins its reversals as read). */
export function decideTx(x: LedgerEntry, head: LedgerEntry, set: Record<string, unknown>, remove?: string[]): TxItem {
  const pin =
    x.id === head.id
      ? {
          extraCondition: '(reversed = :rev OR (attribute_not_exists(reversed) AND :rev = :zero))',
          extraValues: { ':rev': head.reversed ?? 0, ':zero': 0 },
        }
      : {};
  return moveEntryTx(x, { set, ...(remove ? { remove } : {}), ...pin });
}
