import type { Deps } from '../../deps.ts';
import { ConflictError, NotFoundError } from '../../errors.ts';
import { findEntries, findEntry, moveEntryTx } from '../../store/ledger.ts';
import type { TxItem } from '../../store/store.ts';
import type { LedgerEntry } from './ledger.schema.ts';
import type { BalanceChange } from './rules.ts';
import { balanceTx, withFreshReads } from './settlement.ts';

/** Entries decided per transaction: each takes its update and at most a payable mark, beside two balances. */
const ENTRIES_PER_TX = 40;

/** What deciding one entry of a hold group writes. */
export interface HoldEffect {
  set: Record<string, unknown>;
  remove?: string[];
  also?: TxItem[];
  change: BalanceChange;
}

/**
 * Applies a hold decision to a held entry and its still-held reversals (a reversal is decided
 * with the commission it reverses), `ENTRIES_PER_TX` to a transaction: the commission goes with
 * the first ones, pinning its reversals as read. A repeat of the same decision answers the entry
 * as it is, after deciding any reversal a call stopped part-way left held; the other decision is
 * a conflict. Returns the entry as decided.
 */
export async function decideHold(
  deps: Pick<Deps, 'store'>,
  entryId: string,
  decision: 'released' | 'rejected',
  effect: (x: LedgerEntry) => HoldEffect,
): Promise<LedgerEntry> {
  return withFreshReads(async () => {
    const { entry, group } = await loadHoldGroup(deps, entryId, decision);
    for (let i = 0; i < group.length; i += ENTRIES_PER_TX) {
      const tx: TxItem[] = [];
      const changes: BalanceChange[] = [];
      for (const x of group.slice(i, i + ENTRIES_PER_TX)) {
        const e = effect(x);
        tx.push(decideTx(x, entry, e.set, e.remove), ...(e.also ?? []));
        changes.push(e.change);
      }
      await deps.store.transact([...tx, ...balanceTx(changes)]);
    }
    return group.length ? (await findEntry(deps.store, entryId))! : entry;
  });
}

/** The held entry (when undecided) and its reversals still held and undecided. */
async function loadHoldGroup(
  deps: Pick<Deps, 'store'>,
  entryId: string,
  decision: 'released' | 'rejected',
): Promise<{ entry: LedgerEntry; group: LedgerEntry[] }> {
  const entry = await findEntry(deps.store, entryId);
  if (!entry) throw new NotFoundError('ledger entry');
  if (entry.kind === 'commission_reversal' && entry.reverses)
    throw new ConflictError(
      'conflict',
      `A reversal is released or rejected with the commission it reverses (${entry.reverses}).`,
    );
  const repeat = entry.holdDecision === decision;
  if (entry.holdDecision && !repeat)
    throw new ConflictError('conflict', `This entry was ${entry.holdDecision} already.`);
  if (!entry.held && !repeat) throw new ConflictError('conflict', 'This entry is not held for review.');
  const reversals = entry.reversalIds?.length ? await findEntries(deps.store, entry.reversalIds) : [];
  const undecided = reversals.filter((r) => r.held && r.state !== 'rejected' && !r.holdDecision);
  return { entry, group: repeat ? undecided : [entry, ...undecided] };
}

/** The conditional update of one entry of a hold group (the head also pins its reversals as read). */
function decideTx(x: LedgerEntry, head: LedgerEntry, set: Record<string, unknown>, remove?: string[]): TxItem {
  const pin =
    x.id === head.id
      ? {
          extraCondition: '(reversed = :rev OR (attribute_not_exists(reversed) AND :rev = :zero))',
          extraValues: { ':rev': head.reversed ?? 0, ':zero': 0 },
        }
      : {};
  return moveEntryTx(x, { set, ...(remove ? { remove } : {}), ...pin });
}
