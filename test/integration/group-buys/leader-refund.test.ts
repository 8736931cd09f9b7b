import { beforeAll, describe, expect, it } from 'vitest';
import { groupBuysOrderRefundedConsumer } from '#functions/consumers/group-buys-order-refunded';
import { iso } from '#shared/clock';
import { buildEvent } from '#shared/events/outbox';
import { createHarness, type Harness } from '../../support/harness.ts';
import { createGroupCampaign, pendingEvents } from './support.ts';

/** A full refund of a group leader's order, through the shop's webhook, against joins of the group. */
describe('Group buys: the leader’s order refunded in full', () => {
  let h: Harness;
  let campaignId: string;
  let n = 0;
  beforeAll(async () => {
    h = await createHarness();
    campaignId = await createGroupCampaign(h); // groups of 3
  });

  /** A group opened on a paid order of its leader; the leader's order id. */
  async function openGroup(): Promise<{ id: string; leaderOrder: string; leader: string }> {
    const id = ++n;
    const leaderOrder = `ord-lr-${id}`;
    const paid = await h.hook('/v1/orders/paid', {
      orderId: leaderOrder,
      userId: `leader-${id}`,
      amount: 2500,
      paidAt: iso(h.clock.now()),
    });
    expect(paid.status).toBe(201);
    const g = await h.call('POST', '/v1/group-buys', {
      token: h.token(`leader-${id}`),
      body: { campaignId, orderId: leaderOrder },
    });
    expect(g.status).toBe(201);
    return { id: g.body.id, leaderOrder, leader: `leader-${id}` };
  }
  const refundAll = (orderId: string) =>
    h.hook('/v1/orders/refunded', { orderId, refundId: 'r-all', amount: 2500, refundedAt: iso(h.clock.now()) });
  const join = (groupId: string, user: string) =>
    h.call('POST', `/v1/group-buys/${groupId}/members`, { token: h.token(user), body: { orderId: `ord-${user}` } });

  it('fails the open group in the refund’s own write: joins after it are turned away before its event is delivered', async () => {
    const g = await openGroup();
    expect((await join(g.id, `a-${g.id}`)).status).toBe(201);
    expect((await refundAll(g.leaderOrder)).status).toBe(201);
    const late = await join(g.id, `b-${g.id}`);
    expect([late.status, late.body.code]).toEqual([410, 'group_closed']);
    const view = await h.call('GET', `/v1/group-buys/${g.id}`, { token: h.token(g.leader) });
    expect(view.body).toMatchObject({ status: 'failed', failReason: 'leader_refunded', memberCount: 2 });
    const failed = await pendingEvents(h, 'GroupBuyFailed', g.id);
    expect(failed).toHaveLength(1);
    expect(failed[0].refunds.map((r: { orderId: string }) => r.orderId)).toEqual([`ord-a-${g.id}`]);
    // The OrderRefunded consumer, the fallback, finds the group failed already: no second event.
    const refunds = await pendingEvents(h, 'OrderRefunded');
    const { type: _t, eventId: _e, ...detail } = refunds.find((e) => e.orderId === g.leaderOrder);
    const event = buildEvent('OrderRefunded', detail, h.clock);
    await groupBuysOrderRefundedConsumer.handle(event, h.deps);
    expect(await pendingEvents(h, 'GroupBuyFailed', g.id)).toHaveLength(1);
  });

  it('leaves the group open on a partial refund of the leader’s order or a refund of a member’s order', async () => {
    const g = await openGroup();
    expect((await join(g.id, `a-${g.id}`)).status).toBe(201);
    const partial = await h.hook('/v1/orders/refunded', {
      orderId: g.leaderOrder,
      refundId: 'r-part',
      amount: 1000,
      refundedAt: iso(h.clock.now()),
    });
    expect(partial.status).toBe(201);
    const member = `ord-a-${g.id}`;
    await h.hook('/v1/orders/paid', { orderId: member, userId: `a-${g.id}`, amount: 3000, paidAt: iso(h.clock.now()) });
    const memberRefund = await h.hook('/v1/orders/refunded', {
      orderId: member,
      refundId: 'r-all',
      amount: 3000,
      refundedAt: iso(h.clock.now()),
    });
    expect(memberRefund.status).toBe(201);
    expect((await h.call('GET', `/v1/group-buys/${g.id}`, { token: h.token(g.leader) })).body.status).toBe('open');
    expect(await pendingEvents(h, 'GroupBuyFailed', g.id)).toHaveLength(0);
  });

  it('opens no group on an order already refunded in full (409 conflict)', async () => {
    const orderId = `ord-lr-gone-${++n}`;
    await h.hook('/v1/orders/paid', { orderId, userId: 'leader-gone', amount: 2500, paidAt: iso(h.clock.now()) });
    expect((await refundAll(orderId)).status).toBe(201);
    const r = await h.call('POST', '/v1/group-buys', { token: h.token('leader-gone'), body: { campaignId, orderId } });
    expect([r.status, r.body.code]).toEqual([409, 'conflict']);
    // Nor is a group joined with one.
    const g = await openGroup();
    const member = `ord-gone-member-${++n}`;
    await h.hook('/v1/orders/paid', {
      orderId: member,
      userId: 'member-gone',
      amount: 2500,
      paidAt: iso(h.clock.now()),
    });
    expect((await refundAll(member)).status).toBe(201);
    const joined = await h.call('POST', `/v1/group-buys/${g.id}/members`, {
      token: h.token('member-gone'),
      body: { orderId: member },
    });
    expect([joined.status, joined.body.code]).toEqual([409, 'conflict']);
  });

  it('leaves a group that formed before the refund formed', async () => {
    const g = await openGroup();
    expect((await join(g.id, `a-${g.id}`)).status).toBe(201);
    expect((await join(g.id, `b-${g.id}`)).body.status).toBe('formed');
    expect((await refundAll(g.leaderOrder)).status).toBe(201);
    await h.drain();
    const view = await h.call('GET', `/v1/group-buys/${g.id}`, { token: h.token(g.leader) });
    expect(view.body.status).toBe('formed');
  });

  it('races the filling join: the group either formed with every joiner or failed turning the late joiner away, never both', async () => {
    for (let round = 0; round < 12; round++) {
      const g = await openGroup();
      expect((await join(g.id, `a-${g.id}`)).status).toBe(201);
      const [refund, last] = await Promise.all([refundAll(g.leaderOrder), join(g.id, `b-${g.id}`)]);
      expect(refund.status).toBe(201);
      const view = (await h.call('GET', `/v1/group-buys/${g.id}`, { token: h.token(g.leader) })).body;
      if (last.status === 201) {
        expect(view).toMatchObject({ status: 'formed', memberCount: 3 });
        expect(await pendingEvents(h, 'GroupBuyFailed', g.id)).toHaveLength(0);
      } else {
        expect([last.status, last.body.code]).toEqual([410, 'group_closed']);
        expect(view).toMatchObject({ status: 'failed', failReason: 'leader_refunded', memberCount: 2 });
        expect(await pendingEvents(h, 'GroupBuyFailed', g.id)).toHaveLength(1);
      }
    }
  });
});
