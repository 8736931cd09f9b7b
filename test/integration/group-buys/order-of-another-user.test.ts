import { beforeAll, describe, expect, it, vi } from 'vitest';
import { iso } from '#shared/clock';
import { StaleGroupError } from '#shared/domain/group-buys/group-rules';
import { listMemberItems } from '#shared/store/group-buys';
import { groupBuyOrderKey } from '#shared/store/keys';
import type { TxItem } from '#shared/store/store';
import { createHarness, type Harness, webhookHeaders } from '../../support/harness.ts';
import { createGroupCampaign, pendingEvents } from './support.ts';

/**
 * An order is taken as the caller's until the shop's paid webhook names its buyer: an order
 * another user brought into a group before then leaves the group when the webhook comes.
 */
describe('Group buys: an order brought in by someone other than its buyer', () => {
  let h: Harness;
  let campaignId: string;
  let n = 0;
  beforeAll(async () => {
    h = await createHarness();
    campaignId = await createGroupCampaign(h); // groups of 3
  });

  const open = (user: string, orderId: string) =>
    h.call('POST', '/v1/group-buys', { token: h.token(user), body: { campaignId, orderId } });
  const join = (groupId: string, user: string, orderId = `ord-${user}`) =>
    h.call('POST', `/v1/group-buys/${groupId}/members`, { token: h.token(user), body: { orderId } });
  const paid = (orderId: string, userId: string) =>
    h.hook('/v1/orders/paid', { orderId, userId, amount: 3000, paidAt: iso(h.clock.now()) });
  const view = async (groupId: string) =>
    (await h.call('GET', `/v1/group-buys/${groupId}`, { token: h.token('anyone') })).body;
  /** Whether a transaction holds a check on the order's group link (the paid webhook's, as it read the link). */
  const checksLink = (items: TxItem[], order: string) =>
    items.some((i) => 'ConditionCheck' in i && i.ConditionCheck?.Key?.pk === groupBuyOrderKey(order).pk);
  /** The buyer's paid webhook, with `between` run once after it read the order's link and before its write. */
  async function paidWith(order: string, buyer: string, between: () => Promise<void>) {
    const transact = h.deps.store.transact.bind(h.deps.store);
    let ran = false;
    const spy = vi.spyOn(h.deps.store, 'transact').mockImplementation(async (items: TxItem[]) => {
      if (!ran && checksLink(items, order)) {
        ran = true;
        await between();
      }
      return transact(items);
    });
    try {
      return await paid(order, buyer);
    } finally {
      spy.mockRestore();
    }
  }
  const names = () => {
    const id = ++n;
    return { id, thief: `thief-${id}`, buyer: `buyer-${id}`, order: `ord-bought-${id}` };
  };

  it('fails the open group the order leads, refunding the others’ orders but not the buyer’s, and the buyer can use it', async () => {
    const { id, thief, buyer, order } = names();
    const g = await open(thief, order);
    expect(g.status).toBe(201);
    expect((await join(g.body.id, `m-${id}`)).status).toBe(201);
    expect((await paid(order, buyer)).status).toBe(201);
    expect(await view(g.body.id)).toMatchObject({
      status: 'failed',
      failReason: 'leader_order_of_another_user',
      memberCount: 2,
    });
    const [failed] = await pendingEvents(h, 'GroupBuyFailed', g.body.id);
    expect(failed).toMatchObject({ reason: 'leader_order_of_another_user', refunds: [{ orderId: `ord-m-${id}` }] });
    expect(failed.refunds).toHaveLength(1);
    // The thief's open-group slot is free; the buyer opens a group with the order.
    const own = await open(buyer, order);
    expect([own.status, own.body.leaderId]).toEqual([201, buyer]);
    const again = await open(thief, `ord-thief-own-${id}`);
    expect(again.status).toBe(201);
  });

  it('takes out the member who joined with it (GroupBuyLeft, order_of_another_user), and the buyer can join with it', async () => {
    const { id, thief, buyer, order } = names();
    const g = await open(`leader-${id}`, `ord-leader-${id}`);
    expect((await join(g.body.id, thief, order)).status).toBe(201);
    expect((await paid(order, buyer)).status).toBe(201);
    expect(await view(g.body.id)).toMatchObject({ status: 'open', memberCount: 1 });
    const left = await pendingEvents(h, 'GroupBuyLeft', g.body.id);
    expect(left.map((e) => [e.userId, e.orderId, e.reason])).toEqual([[thief, order, 'order_of_another_user']]);
    const mine = await join(g.body.id, buyer, order);
    expect([mine.status, mine.body.memberCount]).toEqual([201, 2]);
    // A repeat of the webhook changes nothing.
    expect((await paid(order, buyer)).status).toBe(200);
    expect(await view(g.body.id)).toMatchObject({ status: 'open', memberCount: 2 });
    expect(await pendingEvents(h, 'GroupBuyLeft', g.body.id)).toHaveLength(1);
  });

  it('leaves alone a group that formed before the webhook, and an order its buyer brought in', async () => {
    const { id, thief, buyer, order } = names();
    const g = await open(`leader-${id}`, `ord-leader-${id}`);
    expect((await join(g.body.id, thief, order)).status).toBe(201);
    expect((await join(g.body.id, `m-${id}`)).body.status).toBe('formed');
    expect((await paid(order, buyer)).status).toBe(201);
    expect(await view(g.body.id)).toMatchObject({ status: 'formed', memberCount: 3 });
    expect((await paid(`ord-leader-${id}`, `leader-${id}`)).status).toBe(201);
    const own = await open(`owner-${id}`, `ord-owner-${id}`);
    expect((await paid(`ord-owner-${id}`, `owner-${id}`)).status).toBe(201);
    expect(await view(own.body.id)).toMatchObject({ status: 'open', memberCount: 1 });
    expect(await pendingEvents(h, 'GroupBuyLeft', g.body.id)).toHaveLength(0);
    expect(await pendingEvents(h, 'GroupBuyFailed', own.body.id)).toHaveLength(0);
  });

  it('races an open and a join with the order against its webhook: the order never stays in a group of another user', async () => {
    for (let round = 0; round < 10; round++) {
      const { id, thief, buyer, order } = names();
      const host = await open(`host-${id}`, `ord-host-${id}`);
      const memberOrder = `${order}-m`;
      const [opened, joined, hook, hook2] = await Promise.all([
        open(thief, order),
        join(host.body.id, `${thief}-m`, memberOrder),
        paid(order, buyer),
        paid(memberOrder, buyer),
      ]);
      expect([hook.status, hook2.status]).toEqual([201, 201]);
      expect([201, 404]).toContain(opened.status);
      expect([201, 404]).toContain(joined.status);
      // Whichever landed first, the orders are in no group: free for their buyer.
      for (const o of [order, memberOrder]) expect(await h.deps.store.get(groupBuyOrderKey(o), true)).toBeUndefined();
      if (opened.status === 201)
        expect(await view(opened.body.id)).toMatchObject({
          status: 'failed',
          failReason: 'leader_order_of_another_user',
        });
      const hostView = await view(host.body.id);
      expect(hostView.memberCount).toBe((await listMemberItems(h.deps.store, host.body.id)).length);
      expect(hostView.memberCount).toBe(1);
    }
  });
  it('reads again when a group is opened on the order between the webhook’s read and its write', async () => {
    const { thief, buyer, order } = names();
    let opened: Awaited<ReturnType<typeof open>> | undefined;
    // The open lands after the webhook read no group.
    const hook = await paidWith(order, buyer, async () => {
      opened = await open(thief, order);
    });
    expect(hook.status).toBe(201);
    expect(opened?.status).toBe(201);
    expect(await view(opened!.body.id)).toMatchObject({ status: 'failed', failReason: 'leader_order_of_another_user' });
    expect(await h.deps.store.get(groupBuyOrderKey(order), true)).toBeUndefined();
  });
  it('reads again when the buyer leaves and another user opens a group on the order between the webhook’s read and its write', async () => {
    const { id, thief, buyer, order } = names();
    const g = await open(`leader-${id}`, `ord-leader-${id}`);
    expect((await join(g.body.id, buyer, order)).status).toBe(201);
    let opened: Awaited<ReturnType<typeof open>> | undefined;
    // After the webhook read the buyer's link: the buyer leaves, and another user opens on the order.
    const hook = await paidWith(order, buyer, async () => {
      const left = await h.call('DELETE', `/v1/group-buys/${g.body.id}/members/me`, { token: h.token(buyer) });
      expect(left.status).toBe(204);
      opened = await open(thief, order);
    });
    expect(hook.status).toBe(201);
    expect(opened?.status).toBe(201);
    expect(await view(opened!.body.id)).toMatchObject({ status: 'failed', failReason: 'leader_order_of_another_user' });
    expect(await h.deps.store.get(groupBuyOrderKey(order), true)).toBeUndefined();
    expect((await open(buyer, order)).status).toBe(201);
  });

  it('answers a webhook that keeps losing to other writes 409 with Retry-After, and keeps no answer for its Idempotency-Key', async () => {
    const { buyer, order } = names();
    const raw = JSON.stringify({ orderId: order, userId: buyer, amount: 3000, paidAt: iso(h.clock.now()) });
    const send = () => {
      const ts = Math.floor(h.clock.now() / 1000);
      return h.call('POST', '/v1/orders/paid', {
        raw,
        headers: { ...webhookHeaders(raw, ts, h.deps.config.WEBHOOK_SECRET), 'idempotency-key': `paid-${order}` },
      });
    };
    const transact = h.deps.store.transact.bind(h.deps.store);
    const spy = vi.spyOn(h.deps.store, 'transact').mockImplementation(async (items: TxItem[]) => {
      if (checksLink(items, order)) throw new StaleGroupError(undefined);
      return transact(items);
    });
    let busy: Awaited<ReturnType<typeof send>>;
    try {
      busy = await send();
    } finally {
      spy.mockRestore();
    }
    expect([busy.status, busy.body.code, busy.headers.get('retry-after')]).toEqual([409, 'conflict', '1']);
    const retried = await send();
    expect([retried.status, retried.headers.get('idempotent-replayed')]).toEqual([201, null]);
  });
});
