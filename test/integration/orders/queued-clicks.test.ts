import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { settleClicks } from '#functions/links/background';
import { iso } from '#shared/clock';
import { batchWriteBufferOf } from '#shared/store/batch-write';
import { createHarness, type Harness, ManualClock } from '../../support/harness.ts';
import { holdBatchWrites } from '../../support/hold-batch-writes.ts';
import { commissionCampaign, kolLink, UA } from './support.ts';

describe('Order webhooks: the buyer’s clicks still queued behind a burst', () => {
  let h: Harness;
  let clock: ManualClock;
  let firstClick: string;
  let lastClick: string;
  beforeAll(async () => {
    clock = new ManualClock();
    h = await createHarness({ clock });
    const rules = { rateBps: 1000, attributionWindowSeconds: 3600, lockSeconds: 60 };
    firstClick = await commissionCampaign(h, { ...rules, model: 'first_click' });
    lastClick = await commissionCampaign(h, rules);
  });

  it('attributes to the visitor’s first click while more than 200 of their later clicks are queued', async () => {
    // Prepare: the visitor's first click on A, then 200 clicks on B, all still unacknowledged by the database.
    const first = await kolLink(h, 'kol-first', firstClick);
    const later = await kolLink(h, 'kol-later', firstClick);
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

  it('does not record the order unattributed for good when its visitor’s click could not be written ahead', async () => {
    // Prepare: the visitor's click, still unacknowledged by the database (a burst it is working through).
    const code = await kolLink(h, 'kol-throttled', lastClick);
    const writes = holdBatchWrites(h.deps.store);
    const body = {
      orderId: 'ord-throttled',
      userId: 'buyer-throttled',
      amount: 10000,
      paidAt: iso(clock.now()),
      visitorId: 'v-throttled',
    };
    try {
      const r = await h.call('GET', `/s/${code}`, { headers: { 'user-agent': UA, cookie: 'fission_vid=v-throttled' } });
      expect(r.status).toBe(302);
      await vi.waitFor(() => expect(writes.held('VCLICKS#v:v-throttled')).toBe(1));
      writes.stop();
      // The write-ahead request is throttled (DynamoDB's answer to a burst), once.
      const client = h.deps.store.client;
      const send = client.send.bind(client) as (command: object) => Promise<unknown>;
      let failed = 0;
      client.send = (async (command: object) => {
        if (command instanceof BatchWriteCommand && failed++ === 0)
          throw Object.assign(new Error('Throughput exceeds the current capacity'), {
            name: 'ProvisionedThroughputExceededException',
          });
        return send(command);
      }) as never;

      // Act: the order, then the shop's retry of it if it was refused.
      const paid = await h.hook('/v1/orders/paid', body);
      client.send = send as never;
      writes.release();
      await settleClicks();
      const again = paid.status >= 500 ? await h.hook('/v1/orders/paid', body) : paid;

      // Assess: the order ends up attributed to the click answered before it (a 5xx would let the retry find it).
      expect([paid.status, again.body.attributed, again.body.linkCode]).toEqual([expect.any(Number), true, code]);
    } finally {
      writes.release();
      await settleClicks();
    }
  }, 60_000);

  it('attributes (last-click) to the newest counting click, whatever else is queued', async () => {
    // Prepare: 100 clicks on A, one on B (both in the campaign), then 100 on a link in no campaign,
    // all still unacknowledged by the database.
    const a = await kolLink(h, 'kol-mid-a', lastClick);
    const b = await kolLink(h, 'kol-mid-b', lastClick);
    const plain = await kolLink(h, 'kol-mid-plain');
    const writes = holdBatchWrites(h.deps.store);
    try {
      const click = async (code: string) => {
        const r = await h.call('GET', `/s/${code}`, { headers: { 'user-agent': UA, cookie: 'fission_vid=mid-v' } });
        expect(r.status).toBe(302);
        clock.advance(1);
      };
      for (let i = 0; i < 100; i++) await click(a);
      await click(b);
      for (let i = 0; i < 100; i++) await click(plain);
      await vi.waitFor(() => expect(writes.held('VCLICKS#v:mid-v')).toBeGreaterThan(0));
      writes.stop();

      // Act: the visitor's order.
      const paid = await h.hook('/v1/orders/paid', {
        orderId: 'ord-mid',
        userId: 'buyer-mid',
        amount: 10000,
        paidAt: iso(clock.now()),
        visitorId: 'mid-v',
      });

      // Assess: API.md — last-click: the newest valid click by this visitor inside the window (B's; the
      // later ones are on a link of no commission campaign and do not count).
      expect(paid.body).toMatchObject({ attributed: true, linkCode: b });
    } finally {
      writes.release();
      await settleClicks();
    }
  }, 120_000);

  it('answers a repeat of a recorded order from the order, whatever its buyer has queued', async () => {
    const code = await kolLink(h, 'kol-repeat', lastClick);
    const body = {
      orderId: 'ord-repeat',
      userId: 'buyer-repeat',
      amount: 10000,
      paidAt: iso(clock.now()),
      visitorId: 'v-repeat',
    };
    await h.call('GET', `/s/${code}`, { headers: { 'user-agent': UA, cookie: 'fission_vid=v-repeat' } });
    await settleClicks();
    const first = await h.hook('/v1/orders/paid', body);
    expect(first.body).toMatchObject({ attributed: true, linkCode: code });
    // Then a burst of the same visitor's clicks the database cannot take: every write of them fails.
    const writes = holdBatchWrites(h.deps.store);
    const client = h.deps.store.client;
    const send = client.send.bind(client) as (command: object) => Promise<unknown>;
    try {
      for (let i = 0; i < 30; i++)
        await h.call('GET', `/s/${code}`, { headers: { 'user-agent': UA, cookie: 'fission_vid=v-repeat' } });
      await vi.waitFor(() => expect(writes.held('VCLICKS#v:v-repeat')).toBeGreaterThan(0));
      writes.stop();
      client.send = (async (command: object) => {
        if (command instanceof BatchWriteCommand) throw new Error('the database takes no more writes');
        return send(command);
      }) as never;
      const repeat = await h.hook('/v1/orders/paid', body);
      expect([repeat.status, repeat.text]).toEqual([200, first.text]);
    } finally {
      client.send = send as never;
      writes.release();
      await settleClicks();
    }
  });

  it('writes a subject’s queued clicks ahead a few requests at a time', async () => {
    const items = Array.from({ length: 300 }, (_, i) => ({
      pk: 'VCLICKS#v:many',
      sk: `t${String(i).padStart(4, '0')}`,
    }));
    const client = h.deps.store.client;
    const send = client.send.bind(client) as (command: object) => Promise<unknown>;
    let inFlight = 0;
    let most = 0;
    client.send = (async (command: object) => {
      if (!(command instanceof BatchWriteCommand)) return send(command);
      most = Math.max(most, ++inFlight);
      try {
        return await send(command);
      } finally {
        inFlight--;
      }
    }) as never;
    try {
      await batchWriteBufferOf(h.deps.store).putNow(items);
    } finally {
      client.send = send as never;
    }
    expect(most).toBeLessThanOrEqual(4);
    expect(await h.deps.store.queryAll({ pk: 'VCLICKS#v:many' })).toHaveLength(300);
  });
});
