import { beforeAll, describe, expect, it, vi } from 'vitest';
import { settleClicks } from '#functions/links/background';
import { iso } from '#shared/clock';
import { createHarness, type Harness, ManualClock } from '../../support/harness.ts';
import { holdBatchWrites } from '../../support/hold-batch-writes.ts';
import { inviteCampaign } from '../invites/support.ts';
import { clickAs, commissionCampaign, kolLink, pendingEvents, UA } from './support.ts';

describe('Order webhooks', () => {
  let h: Harness;
  let clock: ManualClock;
  let campaignId: string;
  let code: string;
  let seq = 0;
  const order = (body: Record<string, unknown> = {}) => ({
    orderId: `ord-${++seq}`,
    userId: `buyer-${seq}`,
    amount: 19999,
    paidAt: iso(clock.now()),
    ...body,
  });

  beforeAll(async () => {
    clock = new ManualClock();
    h = await createHarness({ clock });
    campaignId = await commissionCampaign(h, { rateBps: 1250, attributionWindowSeconds: 3600, lockSeconds: 60 });
    code = await kolLink(h, 'kol-1', campaignId);
  });

  it('refuses a bad signature and a stale timestamp with 401 bad_signature, writing nothing', async () => {
    const body = order();
    const forged = await h.hook('/v1/orders/paid', body, { secret: 'wrong' });
    expect([forged.status, forged.body.code]).toEqual([401, 'bad_signature']);
    const stale = await h.hook('/v1/orders/paid', body, { timestamp: Math.floor(clock.now() / 1000) - 301 });
    expect([stale.status, stale.body.code]).toEqual([401, 'bad_signature']);
    const future = await h.hook('/v1/orders/paid', body, { timestamp: Math.floor(clock.now() / 1000) + 301 });
    expect(future.status).toBe(401);
    const unsigned = await h.call('POST', '/v1/orders/paid', { body });
    expect([unsigned.status, unsigned.body.code]).toEqual([401, 'bad_signature']);
    const refund = await h.hook(
      '/v1/orders/refunded',
      { orderId: body.orderId, refundId: 'r', amount: 1, refundedAt: body.paidAt },
      { secret: 'x' },
    );
    expect(refund.status).toBe(401);
    expect(await pendingEvents(h, 'OrderPaid')).toHaveLength(0);
  });

  it.each([
    ['an unknown field', { extra: 1 }],
    ['a float amount', { amount: 19.99 }],
    ['a zero amount', { amount: 0 }],
    ['a non-UTC paidAt', { paidAt: '2026-11-24T10:00:00+08:00' }],
    ['a lowercase currency', { currency: 'cny' }],
    ['a currency the ledger does not settle', { currency: 'USD' }],
    ['an empty orderId', { orderId: '' }],
    ['a paidAt in the future', { paidAt: '2999-01-01T00:00:00.000Z' }],
    ['a blank userId', { userId: '  ' }],
    ['a userId with a line break', { userId: 'a\nb' }],
  ])('refuses a paid order with %s (400 validation_failed)', async (_n, patch) => {
    const r = await h.hook('/v1/orders/paid', order(patch));
    expect([r.status, r.body.code]).toEqual([400, 'validation_failed']);
  });

  it('takes any user id a token can carry as sub (any language, spaces inside)', async () => {
    for (const userId of ['用户😀', 'with space'])
      expect((await h.hook('/v1/orders/paid', order({ userId }))).status).toBe(201);
  });

  it('records an order without attribution, and answers a repeat with 200 and the same body', async () => {
    const body = order();
    const first = await h.hook('/v1/orders/paid', body);
    expect(first.status).toBe(201);
    expect(first.body).toEqual({ orderId: body.orderId, attributed: false });
    const again = await h.hook('/v1/orders/paid', body);
    expect(again.status).toBe(200);
    expect(again.text).toBe(first.text);
    const changed = await h.hook('/v1/orders/paid', { ...body, amount: 1 });
    expect([changed.status, changed.body.code]).toEqual([409, 'conflict']);
  });

  it('attributes by a valid token with floor commission, emitting OrderPaid and OrderAttributed', async () => {
    const token = await clickAs(h, code, 'visitor-token-1');
    const body = order({ amount: 10001, attributionToken: token });
    const r = await h.hook('/v1/orders/paid', body);
    expect(r.status).toBe(201);
    expect(r.body).toEqual({
      orderId: body.orderId,
      attributed: true,
      linkCode: code,
      kolId: 'kol-1',
      commission: 1250,
    });
    const attributed = (await pendingEvents(h, 'OrderAttributed')).filter((e) => e.detail.orderId === body.orderId);
    expect(attributed).toHaveLength(1);
    expect(attributed[0]!.detail).toMatchObject({
      campaignId,
      linkCode: code,
      kolId: 'kol-1',
      rateBps: 1250,
      commission: 1250,
      lockSeconds: 60,
      minPayout: 100,
      held: false,
    });
    const paid = (await pendingEvents(h, 'OrderPaid')).filter((e) => e.detail.orderId === body.orderId);
    expect(paid.map((e) => e.detail.firstOrder)).toEqual([true]);
  });

  it('finds the click of a redirect answered just before the order, though it is written after its answer', async () => {
    const quick = await kolLink(h, 'kol-quick', campaignId);
    for (let i = 0; i < 5; i++) {
      const visitor = `visitor-quick-${i}`;
      const r = await h.call('GET', `/s/${quick}`, { headers: { 'user-agent': UA, cookie: `fission_vid=${visitor}` } });
      expect(r.status).toBe(302);
      const paid = await h.hook('/v1/orders/paid', order({ visitorId: visitor })); // no settling in between
      expect(paid.body).toMatchObject({ attributed: true, linkCode: quick });
    }
  });

  it('finds its visitor’s click while the database has yet to acknowledge the click writes queued before it', async () => {
    // Prepare: click-history batches that DynamoDB has not answered (a burst it is still working through).
    const busy = await kolLink(h, 'kol-busy', campaignId);
    const writes = holdBatchWrites(h.deps.store);
    try {
      for (let i = 0; i < 20; i++) {
        const r = await h.call('GET', `/s/${busy}`, {
          headers: { 'user-agent': UA, cookie: `fission_vid=queued-${i}` },
        });
        expect(r.status).toBe(302);
      }
      await vi.waitFor(() => expect(writes.held('VCLICKS#v:queued-')).toBe(20));
      writes.stop();

      // Act: an order of one of those visitors, while their click is still unwritten.
      const paid = await h.hook('/v1/orders/paid', order({ visitorId: 'queued-7' }));

      // Assess: attributed to that click, not given up on.
      expect(paid.body).toMatchObject({ attributed: true, linkCode: busy });
    } finally {
      writes.release();
      await settleClicks();
    }
  });

  it('turns the same webhook sent 5 times at once into one conversion and one OrderAttributed', async () => {
    const token = await clickAs(h, code, 'visitor-burst');
    const body = order({ attributionToken: token });
    const answers = await Promise.all(Array.from({ length: 5 }, () => h.hook('/v1/orders/paid', body)));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 200, 200, 200, 201]);
    expect(new Set(answers.map((a) => a.text)).size).toBe(1);
    expect((await pendingEvents(h, 'OrderAttributed')).filter((e) => e.detail.orderId === body.orderId)).toHaveLength(
      1,
    );
    expect((await pendingEvents(h, 'OrderPaid')).filter((e) => e.detail.orderId === body.orderId)).toHaveLength(1);
    await h.drain();
    const day = iso(clock.now()).slice(0, 10);
    const stats = await h.call('GET', `/v1/kol/stats?from=${day}&to=${day}`, { token: h.token('kol-1', ['kol']) });
    expect(stats.body.totals.conversions).toBe(2);
  });

  it('marks only a user’s first paid order as firstOrder', async () => {
    const a = order({ userId: 'repeat-buyer' });
    const b = order({ userId: 'repeat-buyer' });
    await Promise.all([h.hook('/v1/orders/paid', a), h.hook('/v1/orders/paid', b)]);
    const paid = (await pendingEvents(h, 'OrderPaid')).filter((e) => e.detail.userId === 'repeat-buyer');
    expect(paid.map((e) => e.detail.firstOrder).sort()).toEqual([false, true]);
  });

  it('holds commission when the buyer is the KOL or clicked from the KOL’s device', async () => {
    const devLink = await kolLink(h, 'kol-dev', campaignId, { 'x-device-id': 'device-kol' });
    const own = await clickAs(h, devLink, 'visitor-self', { headers: { 'x-device-id': 'device-kol' } });
    await h.hook('/v1/orders/paid', order({ attributionToken: own, visitorId: 'visitor-self' }));
    const selfBuy = order({ userId: 'kol-dev', attributionToken: await clickAs(h, devLink, 'visitor-kol') });
    await h.hook('/v1/orders/paid', selfBuy);
    const fair = order({ attributionToken: await clickAs(h, devLink, 'visitor-fair'), visitorId: 'visitor-fair' });
    await h.hook('/v1/orders/paid', fair);
    // An order right behind its redirect, naming only the token: the click is still being written.
    const r = await h.call('GET', `/s/${devLink}`, {
      headers: { 'user-agent': UA, cookie: 'fission_vid=visitor-quick', 'x-device-id': 'device-kol' },
    });
    const quick = new URL(r.headers.get('location')!).searchParams.get('fission_ref')!;
    await h.hook('/v1/orders/paid', order({ attributionToken: quick }));
    const events = (await pendingEvents(h, 'OrderAttributed')).filter((e) => e.detail.kolId === 'kol-dev');
    expect(events.map((e) => e.detail.held).sort()).toEqual([false, true, true, true]);
  });

  it('holds commission when the click’s device or visitor, or a device the buyer sent, is one the KOL sent on another link', async () => {
    await kolLink(h, 'kol-x', campaignId, { 'x-device-id': 'device-x', cookie: 'fission_vid=kol-x-browser' });
    const link = await kolLink(h, 'kol-x', campaignId); // no device, no cookie
    /** A click on `link` and the visitor's order; answers whether its commission is held. */
    const heldAfter = async (visitorId: string, headers: Record<string, string> = {}, userId?: string) => {
      const token = await clickAs(h, link, visitorId, { headers });
      const body = order({ attributionToken: token, visitorId, ...(userId ? { userId } : {}) });
      expect((await h.hook('/v1/orders/paid', body)).body).toMatchObject({ attributed: true, kolId: 'kol-x' });
      const [event] = (await pendingEvents(h, 'OrderAttributed')).filter((e) => e.detail.orderId === body.orderId);
      return event?.detail.held;
    };
    expect(await heldAfter('visitor-x1', { 'x-device-id': 'device-x' })).toBe(true); // the KOL's device
    expect(await heldAfter('kol-x-browser')).toBe(true); // the KOL's browser
    // A buyer who once sent the KOL's device (asking for an invite code), now clicking from elsewhere.
    const asked = await h.call('POST', '/v1/invites', {
      token: h.token('buyer-x3'),
      body: { campaignId: await inviteCampaign(h) },
      headers: { 'x-device-id': 'device-x' },
    });
    expect(asked.status).toBe(201);
    expect(await heldAfter('visitor-x3', {}, 'buyer-x3')).toBe(true);
    expect(await heldAfter('visitor-x4', { 'x-device-id': 'device-x4' })).toBe(false); // a device of its own
  });
});
