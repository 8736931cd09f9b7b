import type { Deps } from '../../deps.ts';
import { ConflictError, NotFoundError } from '../../errors.ts';
import { findEntries, findEntry, moveEntryTx, reversalsAsRead } from '../../store/ledger.ts';
import type { TxItem } from '../../store/store.ts';
import type { LedgerEntry } from './ledger.schema.ts';
import { type BalanceChange, chunks } from './rules.ts';
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

type Decision = 'released' | 'rejected';

/**
 * Applies a hold decision to a held entry and its still-held reversals (a reversal is decided
 * with the commission it reverses), `ENTRIES_PER_TX` to a transaction, the entry itself last:
 * until then it stays held, so a decision cut off part-way never leaves a commission payable
 * with reversals still held. A decision that takes several transactions first marks the entry
 * `deciding`, so the other decision is refused until it is done; a repeat of the same decision
 * finishes what a stopped call left. The last transaction pins the commission's reversals as
 * read. Returns the entry as decided.
 */
export async function decideHold(
  deps: Pick<Deps, 'store'>,
  entryId: string,
  decision: Decision,
  effect: (x: LedgerEntry) => HoldEffect,
): Promise<LedgerEntry> {
  return withFreshReads(async () => {
    const { entry, reversals } = await loadHoldGroup(deps, entryId, decision);
    if (entry.holdDecision) return entry;
    const group = [...reversals, entry];
    if (group.length > ENTRIES_PER_TX && entry.deciding !== decision)
      await deps.store.transact([
        moveEntryTx(entry, { set: { deciding: decision }, extraCondition: 'attribute_not_exists(deciding)' }),
      ]);
    for (const part of chunks(group, ENTRIES_PER_TX)) {
      const tx: TxItem[] = [];
      const changes: BalanceChange[] = [];
      for (const x of part) {
        const e = effect(x);
        tx.push(decideTx(x, entry, e.set, e.remove), ...(e.also ?? []));
        changes.push(e.change);
      }
      await deps.store.transact([...tx, ...balanceTx(changes)]);
    }
    return (await findEntry(deps.store, entryId))!;
  });
}

/** The held entry and its reversals still held and undecided. */
async function loadHoldGroup(
  deps: Pick<Deps, 'store'>,
  entryId: string,
  decision: Decision,
): Promise<{ entry: LedgerEntry; reversals: LedgerEntry[] }> {
  const entry = await findEntry(deps.store, entryId);
  if (!entry) throw new NotFoundError('ledger entry');
  if (entry.kind === 'commission_reversal' && entry.reverses)
    throw new ConflictError(
      'conflict',
      `A reversal is released or rejected with the commission it reverses (${entry.reverses}).`,
    );
  if (entry.holdDecision === decision) return { entry, reversals: [] };
  if (entry.holdDecision) throw new ConflictError('conflict', `This entry was ${entry.holdDecision} already.`);
  if (entry.deciding && entry.deciding !== decision)
    throw new ConflictError('conflict', `This entry is being ${entry.deciding}.`);
  if (!entry.held) throw new ConflictError('conflict', 'This entry is not held for review.');
  const reversals = entry.reversalIds?.length ? await findEntries(deps.store, entry.reversalIds) : [];
  return { entry, reversals: reversals.filter((r) => r.held && r.state !== 'rejected' && !r.holdDecision) };
}

/**
 * The conditional update of one entry of a hold group; the entry itself also pins its reversals
 * as read and ends any `deciding` mark.
 */
function decideTx(x: LedgerEntry, head: LedgerEntry, set: Record<string, unknown>, remove: string[] = []): TxItem {
  if (x.id !== head.id) return moveEntryTx(x, { set, remove });
  return moveEntryTx(x, { set, remove: [...remove, 'deciding'], ...reversalsAsRead(head) });
}
