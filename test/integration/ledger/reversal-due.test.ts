import { beforeAll, describe, expect, it } from 'vitest';
import { reversalDueKey } from '#shared/store/keys';
import { createHarness, type Harness, ManualClock } from '../../support/harness.ts';
import { clickAs, commissionCampaign, kolLink } from '../orders/support.ts';

/**
 * A refund is taken by its webhook at once, its commission reversal written when its event is
 * handled: a payout in between must not pay the refunded commission.
 */
describe('Payouts and refunds whose reversal is not written yet', () => {
  let h: Harness;
  let clock: ManualClock;
  const fin = () => h.token('fin', ['finance']);
  const payout = async () =>
    (await h.call('POST', '/v1/finance/payouts', { token: fin(), body: { asset: 'cash', minAmount: 1 } })).body;
  const lineOf = (p: { items: { payeeId: string; amount: number }[] }, kol: string) =>
    p.items.find((i) => i.payeeId === kol)?.amount;
  const now = () => new Date(clock.now()).toISOString();

  beforeAll(async () => {
    clock = new ManualClock();
    h = await createHarness({ clock });
  });

  /** `n` orders of 10000 by distinct buyers through one KOL link (10% commission, no lock), their commissions written. */
  async function paidOrders(kol: string, n: number): Promise<string[]> {
    const campaignId = await commissionCampaign(h, { rateBps: 1000, lockSeconds: 0, minPayout: 1 });
    const code = await kolLink(h, kol, campaignId);
    const orders = await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const ref = await clickAs(h, code, `${kol}-visitor-${i}`);
        const orderId = `${kol}-order-${i}`;
        const r = await h.hook('/v1/orders/paid', {
          orderId,
          userId: `${kol}-buyer-${i}`,
          amount: 10_000,
          paidAt: now(),
          attributionToken: ref,
        });
        expect([r.status, r.body.commission]).toEqual([201, 1000]);
        return orderId;
      }),
    );
    await h.drain();
    await h.drain();
    return orders;
  }

  it('leaves a commission out of payouts from its refund’s webhook until its reversal is written, then pays the rest', async () => {
    const [refunded, kept] = await paidOrders('kol-due-1', 2);
    const r = await h.hook('/v1/orders/refunded', {
      orderId: refunded,
      refundId: 'r1',
      amount: 6000,
      refundedAt: now(),
    });
    expect(r.status).toBe(201);
    expect(await h.deps.store.get(reversalDueKey('kol-due-1', refunded!, 'r1'), true)).toBeDefined();
    // The other order's commission is paid; the refunded one's waits.
    expect(lineOf(await payout(), 'kol-due-1')).toBe(1000);
    await h.drain();
    expect(await h.deps.store.get(reversalDueKey('kol-due-1', refunded!, 'r1'), true)).toBeUndefined();
    expect(lineOf(await payout(), 'kol-due-1')).toBe(1000 - 600);
    expect(kept).toBeDefined();
  });

  it('takes a mark whose reversal is written already as stale (a consumer of a version before marks): it goes, the commission is paid', async () => {
    const [orderId] = await paidOrders('kol-due-4', 1);
    const r = await h.hook('/v1/orders/refunded', { orderId, refundId: 'r1', amount: 5000, refundedAt: now() });
    expect(r.status).toBe(201);
    await h.drain();
    // As a consumer that knows no marks leaves it.
    const key = reversalDueKey('kol-due-4', orderId!, 'r1');
    await h.deps.store.put({ ...key, entity: 'reversal_due', orderId, refundId: 'r1' });
    expect(lineOf(await payout(), 'kol-due-4')).toBe(1000 - 500);
    expect(await h.deps.store.get(key, true)).toBeUndefined();
  });

  it('pays nothing of orders refunded in full in many parts at once, however the payouts fall around the events', async () => {
    const orders = await paidOrders('kol-due-2', 12);
    const refunds = await Promise.all(
      orders.flatMap((orderId) =>
        [0, 1, 2, 3].map((j) =>
          h.hook('/v1/orders/refunded', { orderId, refundId: `part-${j}`, amount: 2500, refundedAt: now() }),
        ),
      ),
    );
    expect(refunds.map((r) => r.status)).toEqual(refunds.map(() => 201));
    const before = await payout();
    await h.drain();
    const after = await payout();
    expect([lineOf(before, 'kol-due-2'), lineOf(after, 'kol-due-2')]).toEqual([undefined, undefined]);
    const mine = await h.call('GET', '/v1/rewards/mine', { token: h.token('kol-due-2', ['kol']) });
    expect(mine.body.balances.cash).toMatchObject({ available: 0, inPayout: 0, paid: 0 });
    const rec = await h.call('GET', '/v1/finance/reconciliation', { token: fin() });
    expect(rec.body.ok).toBe(true);
  });

  it('leaves the commission out when its refund came before the commission was written, until both are', async () => {
    const campaignId = await commissionCampaign(h, { rateBps: 1000, lockSeconds: 0, minPayout: 1 });
    const code = await kolLink(h, 'kol-due-3', campaignId);
    const ref = await clickAs(h, code, 'kol-due-3-visitor');
    await h.hook('/v1/orders/paid', {
      orderId: 'due-3',
      userId: 'b3',
      amount: 10_000,
      paidAt: now(),
      attributionToken: ref,
    });
    await h.hook('/v1/orders/refunded', { orderId: 'due-3', refundId: 'r', amount: 10_000, refundedAt: now() });
    // Events in either order: whatever lands, the refunded commission is never paid.
    for (let round = 0; round < 3; round++) {
      expect(lineOf(await payout(), 'kol-due-3')).toBeUndefined();
      await h.drain();
    }
    expect(await h.deps.store.get(reversalDueKey('kol-due-3', 'due-3', 'r'), true)).toBeUndefined();
  });
});
