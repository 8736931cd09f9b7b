import { expect } from 'vitest';
import type { OutboxItem } from '#shared/events/outbox';
import { INDEX_SHARDS, outboxShardPk } from '#shared/store/keys';
import type { Harness } from '../../support/harness.ts';

/** Bargain rules as an admin would post them. */
export const baseRules = {
  sku: 'sku-bargain',
  originalPrice: 10_000,
  floorPrice: 2_000,
  helpersRequired: 3,
  durationSeconds: 3600,
};

/** Creates a bargain campaign through the admin API and returns its id. */
export async function createBargainCampaign(h: Harness, rules: Record<string, unknown> = {}): Promise<string> {
  const r = await h.call('POST', '/v1/admin/campaigns', {
    token: h.token('admin-1', ['admin']),
    body: { type: 'bargain', title: 'Cut it', rules: { ...baseRules, ...rules } },
  });
  expect(r.status).toBe(201);
  return r.body.id as string;
}

/** Starts a chain for `user` and returns the chain body. */
export async function startChain(h: Harness, campaignId: string, user: string) {
  const r = await h.call('POST', '/v1/bargains', { token: h.token(user), body: { campaignId } });
  expect(r.status).toBe(201);
  return r.body as { id: string; price: number; expiresAt: string; [k: string]: unknown };
}

/** Sends one help by `user` (with display name `name`). */
export function help(h: Harness, chainId: string, user: string, name?: string) {
  return h.call('POST', `/v1/bargains/${chainId}/helps`, { token: h.token(user, ['user'], name) });
}

/** Every event still in the outbox (tests here never drain), parsed, optionally of one chain. */
export async function outboxEvents(h: Harness, chainId?: string) {
  const out: { type: string; detail: Record<string, any> }[] = [];
  for (let shard = 0; shard < INDEX_SHARDS; shard++) {
    const items = await h.deps.store.queryAll<OutboxItem>({ index: 'gsi4', pk: outboxShardPk(shard) });
    for (const i of items) out.push({ type: i.detailType, detail: JSON.parse(i.detail) });
  }
  out.sort((a, b) => (a.detail.eventId < b.detail.eventId ? -1 : 1));
  return chainId ? out.filter((e) => e.detail.chainId === chainId) : out;
}
