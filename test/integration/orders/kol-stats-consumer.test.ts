import { describe, expect, it } from 'vitest';
import { kolStatsConsumer } from '#functions/consumers/kol-stats';
import { getKolStats } from '#shared/domain/kol/get-kol-stats';
import { buildEvent } from '#shared/events/outbox';
import { createHarness, ManualClock } from '../../support/harness.ts';
import { orderAttributed, orderRefunded } from '../ledger/events.ts';

describe('Consumer: kol-stats', () => {
  it('counts an order and each of its refunds once, however often, however late and under whatever event id they come', async () => {
    const clock = new ManualClock(Date.parse('2026-03-01T10:00:00.000Z'));
    const h = await createHarness({ clock });
    const attributed = orderAttributed(clock, { orderId: 'ord-once', kolId: 'kol-once', commission: 500 });
    const refunded = orderRefunded(clock, { orderId: 'ord-once', refundId: 'r1', kolId: 'kol-once', reversal: 100 });
    const day = attributed.detail.paidAt.slice(0, 10);
    const totals = async () => (await getKolStats(h.deps, { kolId: 'kol-once', from: day, to: day })).totals;

    // At least once: the same events twice, at once.
    await Promise.all([attributed, attributed, refunded, refunded].map((e) => kolStatsConsumer.handle(e, h.deps)));
    expect(await totals()).toMatchObject({ conversions: 1, gmv: 5000, commission: 400 });

    // A year later, as the archive replays or a redrive re-publishes them: new event ids, same causes.
    clock.advance(365 * 24 * 3600);
    for (const e of [attributed, refunded]) {
      const { eventId: _, ...detail } = e.detail;
      const again = buildEvent(e['detail-type'] as 'OrderAttributed', detail as never, clock);
      expect(again.detail.eventId).not.toBe(e.detail.eventId);
      await kolStatsConsumer.handle(again, h.deps);
    }
    expect(await totals()).toMatchObject({ conversions: 1, gmv: 5000, commission: 400 });

    // A second refund of the same order is its own cause.
    await kolStatsConsumer.handle(
      orderRefunded(clock, { orderId: 'ord-once', refundId: 'r2', kolId: 'kol-once', reversal: 50 }),
      h.deps,
    );
    const refundDay = new Date(clock.now()).toISOString().slice(0, 10);
    const later = await getKolStats(h.deps, { kolId: 'kol-once', from: refundDay, to: refundDay });
    expect(later.totals.commission).toBe(-50);
  });

  it('keeps causes apart whatever characters their ids hold', async () => {
    const clock = new ManualClock(Date.parse('2026-03-01T10:00:00.000Z'));
    const h = await createHarness({ clock });
    // Joined naively with '#', these two refunds would be one cause.
    for (const [orderId, refundId, reversal] of [
      ['A#r1', 'x', 100],
      ['A', 'r1#x', 50],
    ] as const)
      await kolStatsConsumer.handle(orderRefunded(clock, { orderId, refundId, kolId: 'kol-hash', reversal }), h.deps);
    const day = new Date(clock.now()).toISOString().slice(0, 10);
    expect((await getKolStats(h.deps, { kolId: 'kol-hash', from: day, to: day })).totals.commission).toBe(-150);
  });
});
