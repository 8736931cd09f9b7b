import { beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness, ManualClock } from '../../support/harness.ts';
import { clickAs, commissionCampaign, kolLink } from '../orders/support.ts';

describe('Ledger end to end: shop webhooks → events → ledger → payout', () => {
  let h: Harness;
  let clock: ManualClock;
  beforeAll(async () => {
    clock = new ManualClock();
    h = await createHarness({ clock });
  });

  it('accrues locked commission on a paid order, reverses it on a partial refund, and pays the rest after the lock', async () => {
    const campaignId = await commissionCampaign(h, { rateBps: 1000, lockSeconds: 3600, minPayout: 100 });
    const code = await kolLink(h, 'kol-e2e', campaignId);
    const ref = await clickAs(h, code, 'visitor-e2e');
    const paid = await h.hook('/v1/orders/paid', {
      orderId: 'ord-e2e',
      userId: 'buyer-e2e',
      amount: 19_990,
      paidAt: new Date(clock.now()).toISOString(),
      attributionToken: ref,
    });
    expect(paid.status).toBe(201);
    expect(paid.body).toMatchObject({ attributed: true, kolId: 'kol-e2e', commission: 1999 });
    await h.drain();
    await h.drain();
    const kol = h.token('kol-e2e', ['kol']);
    let mine = await h.call('GET', '/v1/rewards/mine', { token: kol });
    expect(mine.body.balances.cash).toMatchObject({ locked: 1999, available: 0 });

    const refund = await h.hook('/v1/orders/refunded', {
      orderId: 'ord-e2e',
      refundId: 'rf-e2e',
      amount: 9_995,
      refundedAt: new Date(clock.now()).toISOString(),
    });
    expect(refund.status).toBe(201);
    await h.drain();
    mine = await h.call('GET', '/v1/rewards/mine', { token: kol });
    expect(mine.body.balances.cash).toMatchObject({ locked: 1999 - 999, available: 0 });
    expect(mine.body.entries.items.map((e: any) => e.amount).sort()).toEqual([-999, 1999]);

    clock.advance(3601);
    while ((await h.sweep()) > 0);
    const fin = h.token('fin', ['finance']);
    mine = await h.call('GET', '/v1/rewards/mine', { token: h.token('kol-e2e', ['kol']) });
    expect(mine.body.balances.cash).toMatchObject({ locked: 0, available: 1000 });
    const payout = await h.call('POST', '/v1/finance/payouts', { token: fin, body: { asset: 'cash' } });
    expect(payout.body.items).toEqual([{ payeeId: 'kol-e2e', amount: 1000 }]);
    const confirmed = await h.call('POST', `/v1/finance/payouts/${payout.body.id}/confirm`, {
      token: fin,
      body: { reference: 'WX-1' },
    });
    expect(confirmed.body.status).toBe('confirmed');
    const rec = await h.call('GET', '/v1/finance/reconciliation', { token: fin });
    expect(rec.body.ok).toBe(true);
    const csv = await h.call('GET', '/v1/finance/ledger?format=csv&payeeId=kol-e2e', { token: fin });
    expect(csv.text.trimEnd().split('\r\n')).toHaveLength(3);
    expect(csv.text).toContain(',1999,19.99,paid,');
  });
});
