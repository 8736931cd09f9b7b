import { invitesOrderPaidConsumer } from '#functions/consumers/invites-order-paid';
import { defineConsumer } from '#shared/events/consumer';
import type { OutboxItem } from '#shared/events/outbox';
import type { BusEvent, EventDetail } from '#shared/events/schemas';
import { INDEX_SHARDS, outboxShardPk } from '#shared/store/keys';
import { createHarness, type Harness } from '../../support/harness.ts';

export const inviteRules = {
  inviterReward: { asset: 'points', amount: 100 },
  inviteeReward: { asset: 'cash', amount: 500 },
  qualifyingAction: 'signup',
};

/** Records every InviteQualified and InviteAccepted the bus delivers (standing in for their real consumers). */
export function recorders() {
  const qualified = new Map<string, EventDetail<'InviteQualified'>>();
  const accepted = new Map<string, EventDetail<'InviteAccepted'>>();
  return {
    qualified,
    accepted,
    consumers: [
      invitesOrderPaidConsumer,
      defineConsumer('ledger-invite-qualified', ['InviteQualified'], async (e: BusEvent<'InviteQualified'>) => {
        qualified.set(e.detail.eventId, e.detail);
      }),
      defineConsumer('shares-conversions', ['InviteAccepted'], async (e: BusEvent<'InviteAccepted'>) => {
        accepted.set(e.detail.eventId, e.detail);
      }),
    ],
  };
}

export async function inviteHarness(opts: Parameters<typeof createHarness>[0] = {}) {
  const rec = recorders();
  const h = await createHarness({ consumers: rec.consumers, ...opts });
  return { h, rec };
}

/** Creates an invite campaign and answers its id. */
export async function inviteCampaign(h: Harness, rules: Record<string, unknown> = {}): Promise<string> {
  const r = await h.call('POST', '/v1/admin/campaigns', {
    token: h.token('admin-1', ['admin']),
    body: { type: 'invite', title: 'Invite friends', rules: { ...inviteRules, ...rules } },
  });
  if (r.status !== 201) throw new Error(`campaign: ${r.status} ${r.text}`);
  return r.body.id;
}

/** Events still waiting in the outbox (not yet drained), by detail-type. */
export async function pendingEvents(h: Harness, detailType: string): Promise<OutboxItem[]> {
  const out: OutboxItem[] = [];
  for (let shard = 0; shard < INDEX_SHARDS; shard++)
    out.push(
      ...(await h.deps.store.queryAll<OutboxItem>({
        index: 'gsi4',
        pk: outboxShardPk(shard),
        filter: { expression: 'detailType = :t', values: { ':t': detailType } },
      })),
    );
  return out;
}
