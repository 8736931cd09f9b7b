import { iso } from '../../clock.ts';
import type { Deps } from '../../deps.ts';
import { outboxPut } from '../../events/outbox.ts';
import { clearGroupTimer, closeGroupWrite, findGroup } from '../../store/group-buys.ts';
import type { Key } from '../../store/store.ts';
import { formedMembers, MAX_GROUP_WRITE_ATTEMPTS, refundsOf, StaleGroupError, simulatedFill } from './group-rules.ts';
import { isTransientCancel, pause } from './retry.ts';

/**
 * Closes a group at `expiresAt` (the `group-expiry` sweep): an open group becomes `failed` with
 * `GroupBuyFailed` listing every order to refund, or, with `autoFillOnExpiry`, `formed` with
 * simulated members (flagged in the group and in `GroupBuyFormed`, with no user and no order).
 * The status change and its event are one conditional transaction, so two sweeps racing, or a
 * sweep racing a last join, close it once. A group already closed (or gone) just loses the item
 * that pointed the sweep at it: `swept`, the due item the sweeper found, else the group's timer.
 * With `endedAt` (its campaign ended then, by PATCH), a group whose own expiry is still ahead
 * closes now as it would have at that expiry (failed `campaign_ended`, or formed by auto-fill),
 * dated `endedAt`.
 */
export async function expireGroup(
  deps: Deps,
  groupId: string,
  swept?: Key,
  endedAt?: string,
): Promise<'formed' | 'failed' | 'skipped'> {
  let g = await findGroup(deps.store, groupId, true);
  for (let attempt = 0; attempt < MAX_GROUP_WRITE_ATTEMPTS; attempt++) {
    if (g?.status !== 'open') {
      await (swept ? deps.store.delete(swept) : clearGroupTimer(deps.store, groupId));
      return 'skipped';
    }
    const now = deps.clock.now();
    const early = endedAt !== undefined && Date.parse(g.expiresAt) > now;
    if (!early && Date.parse(g.expiresAt) > now) return 'skipped';
    const at = early ? endedAt : g.expiresAt;
    const when = early ? 'live' : 'expired';
    const reason = early ? 'campaign_ended' : 'expired';
    try {
      if (g.autoFillOnExpiry) {
        const simulated = simulatedFill(g, at);
        const event = outboxPut(
          'GroupBuyFormed',
          {
            groupId: g.id,
            campaignId: g.campaignId,
            sku: g.sku,
            leaderId: g.leaderId,
            members: formedMembers(g, simulated),
          },
          deps.clock,
        );
        await closeGroupWrite(deps.store, {
          group: g,
          to: 'formed',
          simulated,
          when,
          atIso: at,
          nowIso: iso(now),
          events: [event],
          onGroupFail: (old) => new StaleGroupError(old),
        });
        return 'formed';
      }
      const event = outboxPut(
        'GroupBuyFailed',
        { groupId: g.id, campaignId: g.campaignId, leaderId: g.leaderId, reason, refunds: refundsOf(g) },
        deps.clock,
      );
      await closeGroupWrite(deps.store, {
        group: g,
        to: 'failed',
        reason,
        when,
        atIso: at,
        nowIso: iso(now),
        events: [event],
        onGroupFail: (old) => new StaleGroupError(old),
      });
      return 'failed';
    } catch (e) {
      // The group moved on: read it again, members included.
      if (e instanceof StaleGroupError) g = await findGroup(deps.store, groupId, true);
      else if (isTransientCancel(e)) {
        await pause(attempt);
        g = await findGroup(deps.store, groupId, true);
      } else throw e;
    }
  }
  throw new Error(`group ${g?.id ?? ''} kept changing; will retry`);
}
