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
 */
export async function expireGroup(deps: Deps, groupId: string, swept?: Key): Promise<'formed' | 'failed' | 'skipped'> {
  let g = await findGroup(deps.store, groupId, true);
  for (let attempt = 0; attempt < MAX_GROUP_WRITE_ATTEMPTS; attempt++) {
    if (g?.status !== 'open') {
      await (swept ? deps.store.delete(swept) : clearGroupTimer(deps.store, groupId));
      return 'skipped';
    }
    const now = deps.clock.now();
    if (Date.parse(g.expiresAt) > now) return 'skipped';
    const at = g.expiresAt;
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
          when: 'expired',
          atIso: at,
          nowIso: iso(now),
          events: [event],
          onGroupFail: (old) => new StaleGroupError(old),
        });
        return 'formed';
      }
      const event = outboxPut(
        'GroupBuyFailed',
        { groupId: g.id, campaignId: g.campaignId, leaderId: g.leaderId, reason: 'expired', refunds: refundsOf(g) },
        deps.clock,
      );
      await closeGroupWrite(deps.store, {
        group: g,
        to: 'failed',
        reason: 'expired',
        when: 'expired',
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
