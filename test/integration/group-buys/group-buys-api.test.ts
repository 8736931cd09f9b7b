import { beforeAll, describe, expect, it } from 'vitest';
import { groupBuysOrderRefundedConsumer } from '#functions/consumers/group-buys-order-refunded';
import { GROUP_EXPIRY_TASK } from '#shared/domain/group-buys/group-rules';
import { buildEvent } from '#shared/events/outbox';
import { listMemberItems } from '#shared/store/group-buys';
import { dueIndex, groupBuyLeaderCountKey, groupBuyOrderKey, groupBuyPk, groupBuyTimerKey } from '#shared/store/keys';
import { createHarness, type Harness, ManualClock } from '../../support/harness.ts';
import { createGroupCampaign, groupRules, pendingEvents } from './support.ts';

describe('Group buys API', () => {
  let h: Harness;
  let clock: ManualClock;
  let campaignId: string;
  let n = 0;
  const user = (name?: string) => {
    const sub = `u${++n}`;
    return { sub, token: h.token(sub, ['user'], name) };
  };
  const open = (token: string, orderId = `o-${++n}`, cid = campaignId) =>
    h.call('POST', '/v1/group-buys', { token, body: { campaignId: cid, orderId } });
  const join = (id: string, token: string, orderId = `o-${++n}`) =>
    h.call('POST', `/v1/group-buys/${id}/members`, { token, body: { orderId } });

  beforeAll(async () => {
    clock = new ManualClock(Date.parse('2026-11-24T10:00:00.000Z'));
    h = await createHarness({ clock, env: { H5_BASE_URL: 'https://h5.example.com' } });
    campaignId = await createGroupCampaign(h);
  });

  describe('POST /v1/group-buys', () => {
    it('opens a group with the caller as leader and first member, and emits GroupBuyOpened', async () => {
      const leader = user('张三');
      const r = await open(leader.token, 'order-open-1');
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({
        campaignId,
        leaderId: leader.sub,
        status: 'open',
        groupSize: 3,
        memberCount: 1,
        slotsLeft: 2,
        expiresAt: '2026-11-24T10:10:00.000Z',
        groupPrice: 3000,
        leaderPrice: 2500,
      });
      expect(r.body.id).toMatch(/^grp_/);
      expect(r.body.shareUrl).toBe(`https://h5.example.com/group-buys/${r.body.id}`);
      const [opened] = await pendingEvents(h, 'GroupBuyOpened', r.body.id);
      expect(opened).toMatchObject({ leaderId: leader.sub, orderId: 'order-open-1', groupSize: 3 });
      const page = await h.call('GET', `/v1/group-buys/${r.body.id}`, { token: user().token });
      expect(page.status).toBe(200);
      expect(page.body.members).toEqual([
        { displayName: '张*', joinedAt: '2026-11-24T10:00:00.000Z', isLeader: true, simulated: false },
      ]);
      expect(page.body.viewer).toEqual({ isMember: false, isLeader: false });
    });

    it('never lets a group outlive its campaign: it expires at the campaign’s endsAt when that is sooner', async () => {
      const endsAt = new Date(clock.now() + 120_000).toISOString();
      const c = await h.call('POST', '/v1/admin/campaigns', {
        token: h.token('admin', ['admin']),
        body: { type: 'group_buy', title: 'Ends soon', endsAt, rules: groupRules },
      });
      expect(c.status).toBe(201);
      const g = await open(user().token, undefined, c.body.id);
      expect([g.status, g.body.expiresAt]).toEqual([201, endsAt]);
      // Past endsAt the group has failed with its campaign: a join hears of the campaign, as after a PATCH to ended.
      const saved = clock.now();
      clock.set(Date.parse(endsAt) + 1000);
      try {
        const late = await h.call('POST', `/v1/group-buys/${g.body.id}/members`, {
          token: user().token,
          body: { orderId: 'o-after-the-end' },
        });
        expect([late.status, late.body.code]).toEqual([409, 'campaign_inactive']);
      } finally {
        clock.set(saved);
      }
    });

    it('refuses a leader over maxOpenGroupsPerUser with 409 too_many_open_groups, until the open group expires', async () => {
      const cid = await createGroupCampaign(h, { durationSeconds: 60 });
      const leader = user();
      expect((await open(leader.token, undefined, cid)).status).toBe(201);
      const second = await open(leader.token, undefined, cid);
      expect([second.status, second.body.code]).toEqual([409, 'too_many_open_groups']);
      clock.advance(61);
      const third = await open(leader.token, undefined, cid);
      expect(third.status).toBe(201);
      const counter = await h.deps.store.get(groupBuyLeaderCountKey(cid, leader.sub), true);
      expect(counter?.openCount).toBe(1);
    });

    it('answers an order in another user’s group as unknown (404), and one in the caller’s own group with 409 conflict', async () => {
      const owner = user();
      const r1 = await open(owner.token, 'order-dup');
      expect(r1.status).toBe(201);
      const r2 = await open(user().token, 'order-dup');
      expect([r2.status, r2.body.code]).toEqual([404, 'not_found']);
      const r3 = await join(r1.body.id, user().token, 'order-dup');
      expect([r3.status, r3.body.code]).toEqual([404, 'not_found']);
      const elsewhere = await open(user().token);
      const r4 = await join(elsewhere.body.id, owner.token, 'order-dup');
      expect([r4.status, r4.body.code]).toEqual([409, 'conflict']);
      expect(
        (await h.call('GET', `/v1/group-buys/${elsewhere.body.id}`, { token: owner.token })).body.memberCount,
      ).toBe(1);
    });

    it('opens and joins only with the caller’s own order once the shop has reported it paid: another buyer’s is unknown (404)', async () => {
      const victim = user();
      const thief = user();
      const paid = (orderId: string, userId: string) =>
        h.hook('/v1/orders/paid', { orderId, userId, amount: 3000, paidAt: new Date(clock.now()).toISOString() });
      expect((await paid('order-victim-1', victim.sub)).status).toBe(201);
      expect((await paid('order-victim-2', victim.sub)).status).toBe(201);
      const stolen = await open(thief.token, 'order-victim-1');
      expect([stolen.status, stolen.body.code]).toEqual([404, 'not_found']);
      const thiefGroup = await open(thief.token);
      const joined = await join(thiefGroup.body.id, thief.token, 'order-victim-2');
      expect([joined.status, joined.body.code]).toEqual([409, 'already_member']);
      const other = await join(thiefGroup.body.id, user().token, 'order-victim-2');
      expect([other.status, other.body.code]).toEqual([404, 'not_found']);
      expect(await h.deps.store.get(groupBuyOrderKey('order-victim-1'), true)).toBeUndefined();
      // The buyer still has both: they open with one and join with the other.
      const own = await open(victim.token, 'order-victim-1');
      expect([own.status, own.body.leaderId]).toEqual([201, victim.sub]);
      expect((await join(thiefGroup.body.id, victim.token, 'order-victim-2')).status).toBe(201);
    });

    it('answers a leader opening again on the same order (a retry, a double tap) with that group and 200', async () => {
      const leader = user();
      const taps = await Promise.all(Array.from({ length: 10 }, () => open(leader.token, 'order-tap')));
      expect(taps.map((t) => t.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
      expect(new Set(taps.map((t) => t.body.id)).size).toBe(1);
      const again = await open(leader.token, 'order-tap');
      expect([again.status, again.body]).toEqual([200, taps.find((t) => t.status === 201)!.body]);
      // Only the same leader, in the same campaign: anyone else, or another campaign, is refused.
      expect((await open(user().token, 'order-tap')).status).toBe(404);
      const other = await createGroupCampaign(h);
      expect([(await open(leader.token, 'order-tap', other)).body.code]).toEqual(['conflict']);
    });

    it('answers a leader opening again on the order of a group that has failed with 409 conflict, not that group', async () => {
      const cid = await createGroupCampaign(h, { durationSeconds: 60 });
      const leader = user();
      expect((await open(leader.token, 'order-failed', cid)).status).toBe(201);
      clock.advance(3600);
      // Expired, not yet swept (stored open): still no answer to an open; nor once swept.
      const unswept = await open(h.token(leader.sub, ['user']), 'order-failed', cid); // a token of the moved clock
      expect([unswept.status, unswept.body.code]).toEqual([409, 'conflict']);
      await h.sweep();
      const again = await open(h.token(leader.sub, ['user']), 'order-failed', cid);
      expect([again.status, again.body.code]).toEqual([409, 'conflict']);
    });

    it.each([
      ['unknown field', { campaignId: 'x', orderId: 'o', extra: 1 }],
      ['missing orderId', { campaignId: 'x' }],
      ['empty orderId', { campaignId: 'x', orderId: '' }],
      ['an orderId the order webhooks would refuse (space)', { campaignId: 'x', orderId: 'a b' }],
      ['an orderId the order webhooks would refuse (NUL)', { campaignId: 'x', orderId: '订单\u0000' }],
      ['numeric campaignId', { campaignId: 5, orderId: 'o' }],
    ])('refuses %s with 400 validation_failed', async (_name, body) => {
      const r = await h.call('POST', '/v1/group-buys', { token: user().token, body });
      expect([r.status, r.body.code]).toEqual([400, 'validation_failed']);
    });

    it('answers 404 for an unknown or non-group_buy campaign and 409 campaign_inactive for a paused one', async () => {
      const missing = await open(user().token, undefined, 'cmp_nope');
      expect([missing.status, missing.body.code]).toEqual([404, 'not_found']);
      const paused = await createGroupCampaign(h);
      await h.call('PATCH', `/v1/admin/campaigns/${paused}`, {
        token: h.token('admin', ['admin']),
        body: { status: 'paused' },
      });
      const r = await open(user().token, undefined, paused);
      expect([r.status, r.body.code]).toEqual([409, 'campaign_inactive']);
    });

    it('needs a user token', async () => {
      const anon = await h.call('POST', '/v1/group-buys', { body: { campaignId, orderId: 'o' } });
      expect([anon.status, anon.body.code]).toEqual([401, 'unauthorized']);
      const kol = await h.call('POST', '/v1/group-buys', {
        token: h.token('k1', ['kol']),
        body: { campaignId, orderId: 'o' },
      });
      expect([kol.status, kol.body.code]).toEqual([403, 'forbidden']);
    });
  });

  describe('POST /v1/group-buys/{id}/members', () => {
    it('fills the group: the last join forms it in the same write, with every order and price in GroupBuyFormed', async () => {
      const leader = user('Alice');
      const g = (await open(leader.token, 'ord-L')).body;
      const a = user('Bob');
      const r1 = await join(g.id, a.token, 'ord-A');
      expect(r1.status).toBe(201);
      expect(r1.body).toEqual({ groupId: g.id, memberCount: 2, status: 'open' });
      const again = await join(g.id, a.token, 'ord-A2');
      expect([again.status, again.body.code]).toEqual([409, 'already_member']);
      const b = user('Carol');
      const r2 = await join(g.id, b.token, 'ord-B');
      expect(r2.body).toEqual({ groupId: g.id, memberCount: 3, status: 'formed' });
      const late = await join(g.id, user().token);
      expect([late.status, late.body.code]).toEqual([410, 'group_closed']);

      const formed = await pendingEvents(h, 'GroupBuyFormed', g.id);
      expect(formed).toHaveLength(1);
      expect(formed[0].members).toEqual([
        { userId: leader.sub, orderId: 'ord-L', price: 2500, isLeader: true, simulated: false },
        { userId: a.sub, orderId: 'ord-A', price: 3000, isLeader: false, simulated: false },
        { userId: b.sub, orderId: 'ord-B', price: 3000, isLeader: false, simulated: false },
      ]);
      expect((await pendingEvents(h, 'GroupBuyJoined', g.id)).map((e) => e.memberCount)).toEqual([2, 3]);

      const page = await h.call('GET', `/v1/group-buys/${g.id}`, { token: a.token });
      expect(page.body).toMatchObject({ status: 'formed', memberCount: 3, slotsLeft: 0 });
      expect(page.body.members.map((m: any) => m.displayName)).toEqual(['A****', 'B**', 'C****']);
      expect(page.body.viewer).toEqual({ isMember: true, isLeader: false });
      expect(JSON.stringify(page.body.members)).not.toContain(a.sub);
      expect(await listMemberItems(h.deps.store, g.id)).toHaveLength(3);
      const counter = await h.deps.store.get(groupBuyLeaderCountKey(campaignId, leader.sub), true);
      expect(counter?.openCount).toBe(0);
    });

    it('replays the first answer for a repeated Idempotency-Key', async () => {
      const g = (await open(user().token)).body;
      const m = user();
      const headers = { 'idempotency-key': 'join-1' };
      const body = { orderId: 'ord-idem' };
      const r1 = await h.call('POST', `/v1/group-buys/${g.id}/members`, { token: m.token, body, headers });
      const r2 = await h.call('POST', `/v1/group-buys/${g.id}/members`, { token: m.token, body, headers });
      expect(r1.status).toBe(201);
      expect([r2.status, r2.text]).toEqual([201, r1.text]);
    });

    it('answers 410 group_closed past expiresAt, before any sweep', async () => {
      const g = (await open(user().token)).body;
      clock.advance(600);
      const r = await join(g.id, user().token);
      expect([r.status, r.body.code]).toEqual([410, 'group_closed']);
      const view = await h.call('GET', `/v1/group-buys/${g.id}`, { token: user().token });
      expect(view.body).toMatchObject({ status: 'failed', failReason: 'expired' });
    });

    it('answers 409 campaign_inactive once the campaign is paused', async () => {
      const cid = await createGroupCampaign(h);
      const g = (await open(user().token, undefined, cid)).body;
      await h.call('PATCH', `/v1/admin/campaigns/${cid}`, {
        token: h.token('admin', ['admin']),
        body: { status: 'paused' },
      });
      const r = await join(g.id, user().token);
      expect([r.status, r.body.code]).toEqual([409, 'campaign_inactive']);
      expect(await listMemberItems(h.deps.store, g.id)).toHaveLength(1);
    });

    it('lets a member leave while the campaign is paused', async () => {
      const cid = await createGroupCampaign(h);
      const g = (await open(user().token, undefined, cid)).body;
      const member = user();
      expect((await join(g.id, member.token)).status).toBe(201);
      await h.call('PATCH', `/v1/admin/campaigns/${cid}`, {
        token: h.token('admin', ['admin']),
        body: { status: 'paused' },
      });
      const left = await h.call('DELETE', `/v1/group-buys/${g.id}/members/me`, { token: member.token });
      expect(left.status).toBe(204);
      expect(await listMemberItems(h.deps.store, g.id)).toHaveLength(1);
    });

    it('refuses bad bodies with 400, unknown groups with 404, and anonymous callers with 401', async () => {
      const g = (await open(user().token)).body;
      const t = user().token;
      for (const body of [{}, { orderId: 'o', extra: true }, { orderId: 7 }]) {
        const r = await h.call('POST', `/v1/group-buys/${g.id}/members`, { token: t, body });
        expect([r.status, r.body.code]).toEqual([400, 'validation_failed']);
      }
      const missing = await join('grp_nope', t);
      expect([missing.status, missing.body.code]).toEqual([404, 'not_found']);
      const anon = await h.call('POST', `/v1/group-buys/${g.id}/members`, { body: { orderId: 'o' } });
      expect([anon.status, anon.body.code]).toEqual([401, 'unauthorized']);
      expect(await listMemberItems(h.deps.store, g.id)).toHaveLength(1);
    });
  });

  describe('DELETE /v1/group-buys/{id}/members/me', () => {
    it('lets a member leave an open group: slot, member item and order link go, GroupBuyLeft is emitted', async () => {
      const leader = user();
      const g = (await open(leader.token)).body;
      const m = user();
      await join(g.id, m.token, 'ord-leave');
      const r = await h.call('DELETE', `/v1/group-buys/${g.id}/members/me`, { token: m.token });
      expect(r.status).toBe(204);
      expect(r.text).toBe('');
      const view = await h.call('GET', `/v1/group-buys/${g.id}`, { token: m.token });
      expect(view.body).toMatchObject({ memberCount: 1, slotsLeft: 2, viewer: { isMember: false } });
      expect(await listMemberItems(h.deps.store, g.id)).toHaveLength(1);
      expect(await h.deps.store.get(groupBuyOrderKey('ord-leave'), true)).toBeUndefined();
      const [left] = await pendingEvents(h, 'GroupBuyLeft', g.id);
      expect(left).toMatchObject({ userId: m.sub, orderId: 'ord-leave', memberCount: 1 });
      const rejoin = await join(g.id, m.token, 'ord-leave');
      expect(rejoin.status).toBe(201);
    });

    it('refuses the leader (403), a non-member (404), a closed group (410) and an unknown group (404)', async () => {
      const leader = user();
      const g = (await open(leader.token)).body;
      const lead = await h.call('DELETE', `/v1/group-buys/${g.id}/members/me`, { token: leader.token });
      expect([lead.status, lead.body.code]).toEqual([403, 'forbidden']);
      const stranger = await h.call('DELETE', `/v1/group-buys/${g.id}/members/me`, { token: user().token });
      expect([stranger.status, stranger.body.code]).toEqual([404, 'not_found']);
      const m = user();
      await join(g.id, m.token);
      await join(g.id, user().token);
      const closed = await h.call('DELETE', `/v1/group-buys/${g.id}/members/me`, { token: m.token });
      expect([closed.status, closed.body.code]).toEqual([410, 'group_closed']);
      const missing = await h.call('DELETE', '/v1/group-buys/grp_nope/members/me', { token: m.token });
      expect([missing.status, missing.body.code]).toEqual([404, 'not_found']);
      const anon = await h.call('DELETE', `/v1/group-buys/${g.id}/members/me`);
      expect(anon.status).toBe(401);
      const withBody = await h.call('DELETE', `/v1/group-buys/${g.id}/members/me`, { token: m.token, body: { x: 1 } });
      expect([withBody.status, withBody.body.code]).toEqual([400, 'validation_failed']);
    });
  });

  describe('GET /v1/group-buys', () => {
    it('lists joinable groups fewest open slots first, then soonest expiry, paginated, without expired ones', async () => {
      const cid = await createGroupCampaign(h, { groupSize: 4 });
      const g1 = (await open(user().token, undefined, cid)).body; // 3 slots, earliest
      clock.advance(10);
      const g2 = (await open(user().token, undefined, cid)).body;
      await join(g2.id, user().token); // 2 slots
      clock.advance(10);
      const g3 = (await open(user().token, undefined, cid)).body;
      await join(g3.id, user().token);
      await join(g3.id, user().token); // 1 slot
      clock.advance(10);
      const g4 = (await open(user().token, undefined, cid)).body;
      await join(g4.id, user().token); // 2 slots, later than g2
      const full = (await open(user().token, undefined, cid)).body;
      for (let i = 0; i < 3; i++) await join(full.id, user().token); // formed: not listed

      const t = user().token;
      const p1 = await h.call('GET', `/v1/group-buys?campaignId=${cid}&status=open&limit=2`, { token: t });
      expect(p1.status).toBe(200);
      expect(p1.body.items.map((g: any) => g.id)).toEqual([g3.id, g2.id]);
      expect(p1.body.nextCursor).toEqual(expect.any(String));
      const p2 = await h.call(
        'GET',
        `/v1/group-buys?campaignId=${cid}&limit=2&cursor=${encodeURIComponent(p1.body.nextCursor)}`,
        { token: t },
      );
      expect(p2.body.items.map((g: any) => g.id)).toEqual([g4.id, g1.id]);
      expect(p2.body.items[1]).toMatchObject({ slotsLeft: 3, memberCount: 1, status: 'open' });

      clock.set(Date.parse(g1.expiresAt));
      const later = await h.call('GET', `/v1/group-buys?campaignId=${cid}`, { token: t });
      expect(later.body.items.map((g: any) => g.id)).toEqual([g3.id, g2.id, g4.id]);
      expect(later.body.nextCursor).toBeNull();
    });

    it('validates its query and answers 404 for an unknown campaign, 401 without a token', async () => {
      const t = user().token;
      for (const q of [
        '',
        '?campaignId=',
        `?campaignId=${campaignId}&status=formed`,
        `?campaignId=${campaignId}&limit=0`,
        `?campaignId=${campaignId}&cursor=bogus`,
      ]) {
        const r = await h.call('GET', `/v1/group-buys${q}`, { token: t });
        expect([q, r.status, r.body.code]).toEqual([q, 400, 'validation_failed']);
      }
      const missing = await h.call('GET', '/v1/group-buys?campaignId=cmp_nope', { token: t });
      expect([missing.status, missing.body.code]).toEqual([404, 'not_found']);
      const anon = await h.call('GET', `/v1/group-buys?campaignId=${campaignId}`);
      expect(anon.status).toBe(401);
    });
  });

  describe('GET /v1/group-buys/{id}', () => {
    it('answers 404 for an unknown group and 401 without a token', async () => {
      const r = await h.call('GET', '/v1/group-buys/grp_nope', { token: user().token });
      expect([r.status, r.body.code]).toEqual([404, 'not_found']);
      const anon = await h.call('GET', '/v1/group-buys/grp_nope');
      expect(anon.status).toBe(401);
    });
  });

  describe('expiry and refunds', () => {
    it('fails an unfilled group at expiry once, refunding every order, and frees the leader', async () => {
      const leader = user();
      const g = (await open(leader.token, 'ord-exp-L')).body;
      await join(g.id, user().token, 'ord-exp-A');
      clock.set(Date.parse(g.expiresAt));
      await h.sweep();
      await h.sweep();
      const failed = await pendingEvents(h, 'GroupBuyFailed', g.id);
      expect(failed).toHaveLength(1);
      expect(failed[0]).toMatchObject({ reason: 'expired', leaderId: leader.sub });
      expect(failed[0].refunds.map((r: any) => r.orderId)).toEqual(['ord-exp-L', 'ord-exp-A']);
      const view = await h.call('GET', `/v1/group-buys/${g.id}`, { token: leader.token });
      expect(view.body).toMatchObject({ status: 'failed', failReason: 'expired', failedAt: g.expiresAt });
      expect(await h.deps.store.get(groupBuyTimerKey(g.id), true)).toBeUndefined();
    });

    it('removes a due pointer whose group is no longer open, so the sweeper stops visiting it', async () => {
      // Prepare: a formed group, and a second due item pointing at it (as a crash between writes could leave).
      const cid = await createGroupCampaign(h, { groupSize: 2 });
      const g = (await open(user().token, 'ord-stray-L', cid)).body;
      expect((await join(g.id, user().token, 'ord-stray-A')).body).toMatchObject({ status: 'formed' });
      const stray = { pk: groupBuyPk(g.id), sk: 'STRAY' };
      await h.deps.store.put({
        ...stray,
        entity: 'group_buy_timer',
        id: g.id,
        ...dueIndex(GROUP_EXPIRY_TASK, g.expiresAt, g.id),
      });

      // Act: sweep past its due time.
      clock.set(Date.parse(g.expiresAt) + 1000);
      await h.sweep();

      // Assess: the pointer is gone and the group is still formed, with no second outcome.
      expect(await h.deps.store.get(stray, true)).toBeUndefined();
      const view = await h.call('GET', `/v1/group-buys/${g.id}`, { token: user().token });
      expect(view.body).toMatchObject({ status: 'formed', memberCount: 2 });
      expect(await pendingEvents(h, 'GroupBuyFailed', g.id)).toHaveLength(0);
      expect(await pendingEvents(h, 'GroupBuyFormed', g.id)).toHaveLength(1);
    });

    it('completes an autoFillOnExpiry group with simulated members, flagged in the group and the event', async () => {
      const cid = await createGroupCampaign(h, { autoFillOnExpiry: true, groupSize: 4 });
      const g = (await open(user('Leader').token, 'ord-af-L', cid)).body;
      await join(g.id, user().token, 'ord-af-A');
      clock.set(Date.parse(g.expiresAt) + 1000);
      const before = await h.call('GET', `/v1/group-buys/${g.id}`, { token: user().token });
      expect(before.body).toMatchObject({ status: 'formed', memberCount: 4, simulatedCount: 2 });
      await h.sweep();
      const after = await h.call('GET', `/v1/group-buys/${g.id}`, { token: user().token });
      expect(after.body).toMatchObject({ status: 'formed', memberCount: 4, simulatedCount: 2, formedAt: g.expiresAt });
      expect(after.body.members).toEqual(before.body.members);
      expect(after.body.members.map((m: any) => m.simulated)).toEqual([false, false, true, true]);
      const [formed] = await pendingEvents(h, 'GroupBuyFormed', g.id);
      expect(formed.members.filter((m: any) => m.simulated)).toEqual([
        { userId: `simulated:${g.id}:1`, orderId: null, price: 3000, isLeader: false, simulated: true },
        { userId: `simulated:${g.id}:2`, orderId: null, price: 3000, isLeader: false, simulated: true },
      ]);
      expect(await listMemberItems(h.deps.store, g.id)).toHaveLength(2);
    });

    it("fails an open group when the leader's order is fully refunded, once, however often the event comes", async () => {
      const leader = user();
      const g = (await open(leader.token, 'ord-ref-L')).body;
      await join(g.id, user().token, 'ord-ref-A');
      const refund = (orderId: string, amount: number, refundedTotal: number) =>
        buildEvent(
          'OrderRefunded',
          {
            orderId,
            refundId: `r-${++n}`,
            amount,
            orderAmount: 2500,
            refundedTotal,
            refundedAt: '2026-11-24T10:00:00.000Z',
          },
          clock,
        );
      await groupBuysOrderRefundedConsumer.handle(refund('ord-ref-L', 100, 100), h.deps);
      const partialOfMember = refund('ord-ref-A', 1000, 1000);
      await groupBuysOrderRefundedConsumer.handle(partialOfMember, h.deps);
      const still = await h.call('GET', `/v1/group-buys/${g.id}`, { token: leader.token });
      expect(still.body).toMatchObject({ status: 'open', memberCount: 2 });
      const full = refund('ord-ref-L', 2400, 2500);
      await groupBuysOrderRefundedConsumer.handle(full, h.deps);
      await groupBuysOrderRefundedConsumer.handle(full, h.deps);
      const view = await h.call('GET', `/v1/group-buys/${g.id}`, { token: leader.token });
      expect(view.body).toMatchObject({ status: 'failed', failReason: 'leader_refunded' });
      const failed = await pendingEvents(h, 'GroupBuyFailed', g.id);
      expect(failed).toHaveLength(1);
      expect(failed[0]).toMatchObject({ reason: 'leader_refunded', refunds: [{ orderId: 'ord-ref-A' }] });
      const counter = await h.deps.store.get(groupBuyLeaderCountKey(campaignId, leader.sub), true);
      expect(counter?.openCount).toBe(0);
    });
  });

  it('documents the group-buy routes in the OpenAPI spec', async () => {
    const r = await h.call('GET', '/openapi.json');
    expect(Object.keys(r.body.paths)).toEqual(
      expect.arrayContaining([
        '/v1/group-buys',
        '/v1/group-buys/{id}',
        '/v1/group-buys/{id}/members',
        '/v1/group-buys/{id}/members/me',
      ]),
    );
    expect(r.body.paths['/v1/group-buys'].post.description).toContain('leader_refunded');
  });
});
