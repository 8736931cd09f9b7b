import { iso } from '../../clock.ts';
import type { Deps } from '../../deps.ts';
import type { EventDetail } from '../../events/schemas.ts';
import { findEntry } from '../../store/ledger.ts';
import type { EntryKind, LedgerEntry } from './ledger.schema.ts';
import { entryIdFor, initialState } from './rules.ts';
import { newEntriesTx, settleOnce } from './settlement.ts';

/**
 * Pays both sides of a qualified invite into the ledger, in one transaction: one entry per side
 * with a non-zero reward (an invite over the inviter's limit is not rewarded). Held invites
 * (same device on both sides) are recorded with `held: true`, out of payouts until finance decides.
 * Returns the entries written (none when the invite had been settled already).
 */
export async function settleInvite(
  deps: Pick<Deps, 'store' | 'clock'>,
  d: EventDetail<'InviteQualified'>,
): Promise<LedgerEntry[]> {
  if (!d.rewarded) return [];
  const now = deps.clock.now();
  const { state, unlockAt } = initialState(now, d.lockSeconds);
  const sides: { payeeId: string; kind: EntryKind; reward: { asset: 'cash' | 'points'; amount: number } }[] = [
    { payeeId: d.inviterId, kind: 'invite_inviter', reward: d.inviterReward },
    { payeeId: d.inviteeId, kind: 'invite_invitee', reward: d.inviteeReward },
  ];
  const entries: LedgerEntry[] = sides
    .filter((s) => s.reward.amount > 0)
    .map((s) => ({
      id: entryIdFor('invite', d.inviteId, s.payeeId, s.kind),
      payeeId: s.payeeId,
      asset: s.reward.asset,
      amount: s.reward.amount,
      kind: s.kind,
      cause: { type: 'invite', id: d.inviteId },
      state,
      createdAt: iso(now),
      unlockAt,
      held: d.held,
    }));
  if (entries.length === 0) return [];
  // A redelivery usually finds its entries already there: one read instead of a failing transaction.
  if (await findEntry(deps.store, entries[0]!.id, false)) return [];
  return (await settleOnce(deps, newEntriesTx(entries))) ? entries : [];
}
