import { beforeAll, describe, expect, it, vi } from 'vitest';
import { settleClicks } from '#functions/links/background';
import { iso } from '#shared/clock';
import { createHarness, type Harness, ManualClock } from '../../support/harness.ts';
import { holdBatchWrites } from '../../support/hold-batch-writes.ts';
import { commissionCampaign, kolLink, UA } from './support.ts';

describe('Order webhooks: first-click with many queued clicks', () => {
  let h: Harness;
  let clock: ManualClock;
  let campaignId: string;
  beforeAll(async () => {
    clock = new ManualClock();
    h = await createHarness({ clock });
    campaignId = await commissionCampaign(h, {
      rateBps: 1000,
      model: 'first_click',
      attributionWindowSeconds: 3600,
      lockSeconds: 60,
    });
  });

  it('attributes to the visitor’s first click while more than 200 of their later clicks are queued', async () => {
    // Prepare: the visitor's first click on A, then 200 clicks on B, all still unacknowledged by the database.
    const first = await kolLink(h, 'kol-first', campaignId);
    const later = await kolLink(h, 'kol-later', campaignId);
    const writes = holdBatchWrites(h.deps.store);
    try {
      const click = async (code: string) => {
        const r = await h.call('GET', `/s/${code}`, { headers: { 'user-agent': UA, cookie: 'fission_vid=busy-v' } });
        expect(r.status).toBe(302);
        clock.advance(1);
      };
      await click(first);
      for (let i = 0; i < 200; i++) await click(later);
      // The first batches are with the database, unanswered; the rest wait behind them in the buffer.
      await vi.waitFor(() => expect(writes.held('VCLICKS#v:busy-v')).toBeGreaterThan(0));
      writes.stop();

      // Act: the visitor's order.
      const paid = await h.hook('/v1/orders/paid', {
        orderId: 'ord-first-click',
        userId: 'buyer-first-click',
        amount: 10000,
        paidAt: iso(clock.now()),
        visitorId: 'busy-v',
      });

      // Assess: first-click (API.md): the oldest click in the window, the one on A.
      expect(paid.body).toMatchObject({ attributed: true, linkCode: first });
    } finally {
      writes.release();
      await settleClicks();
    }
  }, 120_000);
});
