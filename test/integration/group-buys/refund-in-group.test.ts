import { beforeAll, describe, expect, it } from 'vitest';
import { groupBuysOrderRefundedConsumer } from '#functions/consumers/group-buys-order-refunded';
import { iso } from '#shared/clock';
import { buildEvent } from '#shared/events/outbox';
import { listMemberItems } from '#shared/store/group-buys';
import { createHarness, type Harness } from '../../support/harness.ts';
import { createGroupCampaign, pendingEvents } from './support.ts';

/** Full and partial refunds of orders in groups, through the shop's webhook, against joins of the group. */
describe('Group buys: an order in a group refunded', () => {
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

  /** A paid order of `user` (amount 3000), joined to the group. */
  async function paidJoin(groupId: string, user: string) {
    const paid = await h.hook('/v1/orders/paid', {
      orderId: `ord-${user}`,
      userId: user,
      amount: 3000,
      paidAt: iso(h.clock.now()),
    });
    expect(paid.status).toBe(201);
    return join(groupId, user);
  }
  const refundMember = (user: string, refundId = 'r-all', amount = 3000) =>
    h.hook('/v1/orders/refunded', { orderId: `ord-${user}`, refundId, amount, refundedAt: iso(h.clock.now()) });
  const view = async (g: { id: string; leader: string }) =>
    (await h.call('GET', `/v1/group-buys/${g.id}`, { token: h.token(g.leader) })).body;

  it('leaves the group as it is on a partial refund of the leader’s or a member’s order', async () => {
    const g = await openGroup();
    const a = `a-${g.id}`;
    expect((await paidJoin(g.id, a)).status).toBe(201);
    const partial = await h.hook('/v1/orders/refunded', {
      orderId: g.leaderOrder,
      refundId: 'r-part',
      amount: 1000,
      refundedAt: iso(h.clock.now()),
    });
    expect(partial.status).toBe(201);
    expect((await refundMember(a, 'r-part', 2999)).status).toBe(201);
    expect(await view(g)).toMatchObject({ status: 'open', memberCount: 2 });
    expect(await pendingEvents(h, 'GroupBuyFailed', g.id)).toHaveLength(0);
    expect(await pendingEvents(h, 'GroupBuyLeft', g.id)).toHaveLength(0);
  });

  it('takes a member out when the member’s order is refunded in full: the slot opens again, GroupBuyLeft says why', async () => {
    const g = await openGroup();
    const a = `a-${g.id}`;
    expect((await paidJoin(g.id, a)).status).toBe(201);
    expect((await refundMember(a)).status).toBe(201);
    const after = await view(g);
    expect(after).toMatchObject({ status: 'open', memberCount: 1 });
    expect(after.members).toHaveLength(1);
    const left = await pendingEvents(h, 'GroupBuyLeft', g.id);
    expect(left).toHaveLength(1);
    expect(left[0]).toMatchObject({ userId: a, orderId: `ord-${a}`, memberCount: 1, reason: 'order_refunded' });
    // The member is out: leaving again is 404, and the refunded order cannot come back in.
    const leave = await h.call('DELETE', `/v1/group-buys/${g.id}/members/me`, { token: h.token(a) });
    expect(leave.status).toBe(404);
    const back = await join(g.id, a);
    expect([back.status, back.body.code]).toEqual([409, 'conflict']);
    // Its slot is free: two others fill the group, whose GroupBuyFormed does not list the refunded order.
    expect((await join(g.id, `b-${g.id}`)).status).toBe(201);
    expect((await join(g.id, `c-${g.id}`)).body.status).toBe('formed');
    const [formed] = await pendingEvents(h, 'GroupBuyFormed', g.id);
    expect(formed.members.map((m: { orderId: string }) => m.orderId).sort()).toEqual(
      [g.leaderOrder, `ord-b-${g.id}`, `ord-c-${g.id}`].sort(),
    );
    // The OrderRefunded consumer, the fallback, finds the member gone: no second event.
    const refunds = await pendingEvents(h, 'OrderRefunded');
    const { type: _t, eventId: _e, ...detail } = refunds.find((e) => e.orderId === `ord-${a}`);
    await groupBuysOrderRefundedConsumer.handle(buildEvent('OrderRefunded', detail, h.clock), h.deps);
    expect(await pendingEvents(h, 'GroupBuyLeft', g.id)).toHaveLength(1);
    expect(await view(g)).toMatchObject({ status: 'formed', memberCount: 3 });
  });

  it('takes the member out from the OrderRefunded event alone, once however often it comes (the fallback)', async () => {
    const g = await openGroup();
    const a = `a-${g.id}`;
    expect((await join(g.id, a)).status).toBe(201);
    const full = buildEvent(
      'OrderRefunded',
      {
        orderId: `ord-${a}`,
        refundId: 'r-all',
        amount: 3000,
        orderAmount: 3000,
        refundedTotal: 3000,
        refundedAt: iso(h.clock.now()),
      },
      h.clock,
    );
    await groupBuysOrderRefundedConsumer.handle(full, h.deps);
    await groupBuysOrderRefundedConsumer.handle(full, h.deps);
    expect(await view(g)).toMatchObject({ status: 'open', memberCount: 1 });
    const left = await pendingEvents(h, 'GroupBuyLeft', g.id);
    expect(left.map((e) => [e.userId, e.reason])).toEqual([[a, 'order_refunded']]);
  });

  it('keeps a member whose order is refunded after the group formed', async () => {
    const g = await openGroup();
    const a = `a-${g.id}`;
    expect((await paidJoin(g.id, a)).status).toBe(201);
    expect((await join(g.id, `b-${g.id}`)).body.status).toBe('formed');
    expect((await refundMember(a)).status).toBe(201);
    await h.drain();
    expect(await view(g)).toMatchObject({ status: 'formed', memberCount: 3 });
    expect(await pendingEvents(h, 'GroupBuyLeft', g.id)).toHaveLength(0);
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
  it('races a member’s refund with the join that would fill the group: formed with the member, or the member out and the group open', async () => {
    for (let round = 0; round < 12; round++) {
      const g = await openGroup();
      const a = `a-${g.id}`;
      expect((await paidJoin(g.id, a)).status).toBe(201);
      const [refund, last] = await Promise.all([refundMember(a), join(g.id, `b-${g.id}`)]);
      expect([refund.status, last.status]).toEqual([201, 201]);
      const after = await view(g);
      const left = await pendingEvents(h, 'GroupBuyLeft', g.id);
      if (after.status === 'formed') {
        expect(after.memberCount).toBe(3);
        expect(left).toHaveLength(0);
      } else {
        expect(after).toMatchObject({ status: 'open', memberCount: 2 });
        expect(left).toHaveLength(1);
        expect(await pendingEvents(h, 'GroupBuyFormed', g.id)).toHaveLength(0);
      }
      expect(after.members).toHaveLength(after.memberCount);
    }
  });

  it('keeps memberCount equal to the members while many members’ refunds race many joins', async () => {
    const size = 10;
    const big = await createGroupCampaign(h, { groupSize: size });
    const leader = `big-leader-${++n}`;
    await h.hook('/v1/orders/paid', {
      orderId: `ord-${leader}`,
      userId: leader,
      amount: 2500,
      paidAt: iso(h.clock.now()),
    });
    const opened = await h.call('POST', '/v1/group-buys', {
      token: h.token(leader),
      body: { campaignId: big, orderId: `ord-${leader}` },
    });
    expect(opened.status).toBe(201);
    const g = { id: opened.body.id as string, leader };
    const members = Array.from({ length: 6 }, (_, i) => `big-m${i}-${n}`);
    for (const m of members) expect((await paidJoin(g.id, m)).status).toBe(201);
    const joiners = Array.from({ length: 5 }, (_, i) => `big-j${i}-${n}`);
    const answers = await Promise.all([...members.map((m) => refundMember(m)), ...joiners.map((j) => join(g.id, j))]);
    for (const r of answers) expect(r.status, r.text).toBeLessThan(500);
    for (const r of answers.slice(0, members.length)) expect(r.status).toBe(201);
    const after = await view(g);
    const stored = await listMemberItems(h.deps.store, g.id);
    expect(after.memberCount).toBe(stored.length);
    expect(after.members).toHaveLength(stored.length);
    expect(after.memberCount).toBeLessThanOrEqual(size);
    const inGroup = new Set(stored.map((m) => m.userId));
    const left = await pendingEvents(h, 'GroupBuyLeft', g.id);
    // Every refunded member is out with one GroupBuyLeft, unless the group formed first.
    for (const m of members) expect(left.filter((e) => e.userId === m)).toHaveLength(inGroup.has(m) ? 0 : 1);
    if (after.status === 'open') for (const m of members) expect(inGroup.has(m)).toBe(false);
    const joined = answers.slice(members.length).filter((r) => r.status === 201).length;
    expect(stored.length).toBe(1 + members.length + joined - left.length);
  });
});
