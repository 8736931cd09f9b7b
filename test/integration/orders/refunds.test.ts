import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { iso } from '#shared/clock';
import { orderKey } from '#shared/store/keys';
import { createHarness, type Harness, ManualClock } from '../../support/harness.ts';
import { commissionCampaign, kolLink, paidThroughLink, pendingEvents, refundOf } from './support.ts';

describe('Refund webhooks', () => {
  let h: Harness;
  let clock: ManualClock;
  let code: string;
  let n = 0;
  const kol = () => h.token('kol-r', ['kol']);

  const paidOrder = (amount: number) => paidThroughLink(h, code, `r-${++n}`, amount);
  const refund = (orderId: string, refundId: string, amount: number) => refundOf(h, orderId, refundId, amount);

  beforeAll(async () => {
    clock = new ManualClock();
    h = await createHarness({ clock });
    const campaign = await commissionCampaign(h, { rateBps: 777 });
    code = await kolLink(h, 'kol-r', campaign);
  });

  it('reverses partial refunds in proportion and all of it on a full refund; repeats change nothing', async () => {
    const { orderId, commission } = await paidOrder(10001);
    expect(commission).toBe(777);
    const a = await refund(orderId, 'rf-1', 3333);
    expect(a.status).toBe(201);
    expect(a.body).toEqual({ orderId, refundId: 'rf-1', amount: 3333, refundedTotal: 3333, reversal: 258 });
    const again = await refund(orderId, 'rf-1', 3333);
    expect([again.status, again.text]).toEqual([200, a.text]);
    const b = await refund(orderId, 'rf-2', 3333);
    const c = await refund(orderId, 'rf-3', 3335);
    expect([b.body.refundedTotal, c.body.refundedTotal]).toEqual([6666, 10001]);
    expect(a.body.reversal + b.body.reversal + c.body.reversal).toBe(777);
    const over = await refund(orderId, 'rf-4', 1);
    expect([over.status, over.body.code]).toEqual([409, 'refund_exceeds_order']);
    const events = (await pendingEvents(h, 'OrderRefunded')).filter((e) => e.detail.orderId === orderId);
    expect(events).toHaveLength(3);
    expect(events[0]!.detail).toMatchObject({ kolId: 'kol-r', commission: 777, orderAmount: 10001 });
  });

  it('answers 404 for an unknown order, 409 for an over-refund, 400 for bad bodies, writing nothing', async () => {
    const unknown = await refund('ord-none', 'rf', 1);
    expect([unknown.status, unknown.body.code]).toEqual([404, 'not_found']);
    const { orderId } = await paidOrder(500);
    const over = await refund(orderId, 'big', 501);
    expect([over.status, over.body.code]).toEqual([409, 'refund_exceeds_order']);
    for (const bad of [
      { amount: 0 },
      { amount: 1.5 },
      { extra: true },
      { refundedAt: 'yesterday' },
      { refundedAt: iso(clock.now() + 301_000) }, // ahead of the server's clock by more than the skew
      { refundedAt: iso(clock.now() - 301_000) }, // before the order was paid
    ]) {
      const r = await h.hook('/v1/orders/refunded', {
        orderId,
        refundId: 'x',
        amount: 1,
        refundedAt: iso(clock.now()),
        ...bad,
      });
      expect([r.status, r.body.code]).toEqual([400, 'validation_failed']);
    }
    const changed = await refund(orderId, 'ok', 100);
    expect(changed.status).toBe(201);
    const reused = await refund(orderId, 'ok', 101);
    expect([reused.status, reused.body.code]).toEqual([409, 'conflict']);
    expect((await pendingEvents(h, 'OrderRefunded')).filter((e) => e.detail.orderId === orderId)).toHaveLength(1);
  });

  it('never lets concurrent refunds add up past the order', async () => {
    const { orderId, commission } = await paidOrder(1000);
    const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => refund(orderId, `c-${i}`, 300)));
    const ok = answers.filter((a) => a.status === 201);
    expect(ok).toHaveLength(3);
    expect(answers.filter((a) => a.status === 409).every((a) => a.body.code === 'refund_exceeds_order')).toBe(true);
    expect(ok.reduce((s, a) => s + a.body.reversal, 0)).toBeLessThanOrEqual(commission);
  });

  it('records 60 partial refunds of one order sent at once, each once, reversing in proportion', async () => {
    const { orderId, commission } = await paidOrder(100_000);
    const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => refund(orderId, `b-${i}`, 1000)));
    expect(answers.map((a) => a.status)).toEqual(Array(60).fill(201));
    expect(answers.map((a) => a.body.refundedTotal).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 60 }, (_, i) => (i + 1) * 1000),
    );
    expect(answers.reduce((s, a) => s + a.body.reversal, 0)).toBe(Math.floor((commission * 60_000) / 100_000));
  }, 180_000);

  it('takes at most 1,000 refunds of one order (each reversal is listed on the commission): the next answers 409, writing nothing', async () => {
    const { orderId } = await paidOrder(100_000);
    // As if 998 refunds had been recorded before these.
    await h.deps.store.update({ key: orderKey(orderId), update: 'SET refundCount = :n', values: { ':n': 998 } });
    expect((await refund(orderId, 'last-1', 100)).status).toBe(201);
    expect((await refund(orderId, 'last-2', 100)).status).toBe(201);
    const over = await refund(orderId, 'one-too-many', 100);
    expect([over.status, over.body.code]).toEqual([409, 'conflict']);
    expect(over.body.detail).toContain('1000 refunds');
    const order = await h.deps.store.get(orderKey(orderId), true);
    expect([order?.refundedTotal, order?.refundCount]).toEqual([200, 1000]);
    const events = (await pendingEvents(h, 'OrderRefunded')).filter((e) => e.detail.orderId === orderId);
    expect(events).toHaveLength(2);
    // A repeat of a recorded refund still answers as before.
    expect((await refund(orderId, 'last-2', 100)).status).toBe(200);
  });

  it('reversal sums never exceed the commission for any split (property, through the API)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 100_000 }),
        fc.array(fc.integer({ min: 1, max: 40_000 }), { minLength: 1, maxLength: 5 }),
        async (amount, parts) => {
          const { orderId, commission } = await paidOrder(amount);
          let total = 0;
          let reversed = 0;
          for (const [i, p] of parts.entries()) {
            const r = await refund(orderId, `p-${i}`, p);
            if (total + p > amount) {
              expect(r.status).toBe(409);
              continue;
            }
            total += p;
            reversed += r.body.reversal;
            expect(reversed).toBeLessThanOrEqual(commission);
          }
          if (total === amount) expect(reversed).toBe(commission);
        },
      ),
      { numRuns: 5 },
    );
  });

  it('rolls attributed orders and refund reversals into the KOL’s day, once per event', async () => {
    await h.drain();
    const day = iso(clock.now()).slice(0, 10);
    const before = (await h.call('GET', `/v1/kol/stats?from=${day}&to=${day}`, { token: kol() })).body.totals;
    const { orderId, commission } = await paidOrder(2000);
    await refund(orderId, 'half', 1000);
    await h.drain();
    await h.drain();
    const after = (await h.call('GET', `/v1/kol/stats?from=${day}&to=${day}`, { token: kol() })).body.totals;
    expect(after.conversions - before.conversions).toBe(1);
    expect(after.gmv - before.gmv).toBe(2000);
    expect(after.commission - before.commission).toBe(commission - Math.floor(commission / 2));
    expect(after.clicks - before.clicks).toBe(1);
  });
});
