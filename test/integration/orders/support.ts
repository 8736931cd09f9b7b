import { settleClicks } from '#functions/links/background';
import { iso } from '#shared/clock';
import type { OutboxItem } from '#shared/events/outbox';
import { INDEX_SHARDS, outboxShardPk } from '#shared/store/keys';
import type { Harness } from '../../support/harness.ts';

export const UA = 'Mozilla/5.0 (Linux; Android 14) AppleWebKit/537.36 Mobile Safari/537.36';

/** Events still pending in the outbox (not yet delivered by the local bus). */
export async function pendingEvents(h: Harness, type?: string): Promise<{ type: string; detail: any }[]> {
  const out: { type: string; detail: any }[] = [];
  for (let s = 0; s < INDEX_SHARDS; s++) {
    const items = await h.deps.store.queryAll<OutboxItem>({ index: 'gsi4', pk: outboxShardPk(s) });
    for (const i of items) out.push({ type: i.detailType, detail: JSON.parse(i.detail) });
  }
  return type ? out.filter((e) => e.type === type) : out;
}

/** A commission campaign with these rules. */
export async function commissionCampaign(h: Harness, rules: Record<string, unknown>): Promise<string> {
  const r = await h.call('POST', '/v1/admin/campaigns', {
    token: h.token('admin', ['admin']),
    body: { type: 'commission', title: 'KOL program', rules },
  });
  if (r.status !== 201) throw new Error(`campaign: ${r.text}`);
  return r.body.id;
}

/** A KOL link (optionally in a campaign). */
export async function kolLink(
  h: Harness,
  kolId: string,
  campaignId?: string,
  headers: Record<string, string> = {},
): Promise<string> {
  const r = await h.call('POST', '/v1/links', {
    token: h.token(kolId, ['kol']),
    body: { targetUrl: 'https://shop.example.com/p/1', ...(campaignId ? { campaignId } : {}) },
    headers,
  });
  if (r.status !== 201) throw new Error(`link: ${r.text}`);
  return r.body.code;
}

/** A click by a visitor (cookie), fully recorded; returns the attribution token of the redirect. */
export async function clickAs(
  h: Harness,
  code: string,
  visitorId: string,
  opts: { token?: string; headers?: Record<string, string> } = {},
): Promise<string> {
  const r = await h.call('GET', `/s/${code}`, {
    ...(opts.token ? { token: opts.token } : {}),
    headers: { 'user-agent': UA, cookie: `fission_vid=${visitorId}`, ...opts.headers },
  });
  if (r.status !== 302) throw new Error(`click: ${r.status}`);
  await settleClicks();
  return new URL(r.headers.get('location')!).searchParams.get('fission_ref')!;
}

/**
 * A paid order attributed through a click on `code` by a visitor of its own (`visitor-<id>`,
 * buyer `u-<id>`, order `ord-<id>`), paid now: its id and commission.
 */
export async function paidThroughLink(
  h: Harness,
  code: string,
  id: string,
  amount: number,
): Promise<{ orderId: string; commission: number }> {
  const orderId = `ord-${id}`;
  const token = await clickAs(h, code, `visitor-${id}`);
  const r = await h.hook('/v1/orders/paid', {
    orderId,
    userId: `u-${id}`,
    amount,
    paidAt: iso(h.clock.now()),
    attributionToken: token,
  });
  if (r.status !== 201) throw new Error(`paid order: ${r.text}`);
  return { orderId, commission: r.body.commission as number };
}

/** A signed refund of `amount` on an order, refunded now. */
export const refundOf = (h: Harness, orderId: string, refundId: string, amount: number) =>
  h.hook('/v1/orders/refunded', { orderId, refundId, amount, refundedAt: iso(h.clock.now()) });
