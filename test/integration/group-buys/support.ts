import type { OutboxItem } from '#shared/events/outbox';
import { INDEX_SHARDS, outboxShardPk } from '#shared/store/keys';
import type { Harness } from '../../support/harness.ts';

export const groupRules = {
  sku: 'sku-gb',
  originalPrice: 5000,
  groupPrice: 3000,
  leaderPrice: 2500,
  groupSize: 3,
  durationSeconds: 600,
};

/** Creates an active group_buy campaign through the admin API and returns its id. */
export async function createGroupCampaign(h: Harness, rules: Record<string, unknown> = {}): Promise<string> {
  const r = await h.call('POST', '/v1/admin/campaigns', {
    token: h.token('admin', ['admin']),
    body: { type: 'group_buy', title: 'Buy together', rules: { ...groupRules, ...rules } },
  });
  if (r.status !== 201) throw new Error(`campaign: ${r.status} ${r.text}`);
  return r.body.id;
}

/** Events still in the outbox (not yet delivered), parsed, optionally of one type and group. */
export async function pendingEvents(h: Harness, type?: string, groupId?: string): Promise<any[]> {
  const out: any[] = [];
  for (let s = 0; s < INDEX_SHARDS; s++) {
    const items = await h.deps.store.queryAll<OutboxItem>({ index: 'gsi4', pk: outboxShardPk(s) });
    for (const i of items)
      if (!type || i.detailType === type) out.push({ type: i.detailType, ...JSON.parse(i.detail) });
  }
  return out.filter((e) => !groupId || e.groupId === groupId).sort((a, b) => a.eventId.localeCompare(b.eventId));
}
