import { iso } from '../../clock.ts';
import type { Deps } from '../../deps.ts';
import type { EventDetail } from '../../events/schemas.ts';
import { findEntry } from '../../store/ledger.ts';
import type { EntryKind, LedgerEntry } from './ledger.schema.ts';
import { entryIdFor, initialState } from './rules.ts';
import { newEntriesTx, settleOnce } from './settlement.ts';

/** What an invite's reward sides owe: an entry per side with a non-zero reward, its id derived from the invite. */
export function inviteRewardSides(
  i: Pick<EventDetail<'InviteQualified'>, 'inviteId' | 'inviterId' | 'inviteeId' | 'inviterReward' | 'inviteeReward'>,
): { id: string; payeeId: string; kind: EntryKind; asset: 'cash' | 'points'; amount: number }[] {
  const sides: { payeeId: string; kind: EntryKind; reward: { asset: 'cash' | 'points'; amount: number } }[] = [
    { payeeId: i.inviterId, kind: 'invite_inviter', reward: i.inviterReward },
    { payeeId: i.inviteeId, kind: 'invite_invitee', reward: i.inviteeReward },
  ];
  return sides
    .filter((s) => s.reward.amount > 0)
    .map((s) => ({
      id: entryIdFor('invite', i.inviteId, s.payeeId, s.kind),
      payeeId: s.payeeId,
      kind: s.kind,
      asset: s.reward.asset,
      amount: s.reward.amount,
    }));
}

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
  const entries: LedgerEntry[] = inviteRewardSides(d).map((s) => ({
    ...s,
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
