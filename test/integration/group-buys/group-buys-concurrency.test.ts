import { beforeAll, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '#shared/clock';
import { expireGroup } from '#shared/domain/group-buys/expire-group';
import { findGroup, listMemberItems } from '#shared/store/group-buys';
import { deferred } from '../../support/deferred.ts';
import { createHarness, type Harness } from '../../support/harness.ts';
import { createGroupCampaign, pendingEvents } from './support.ts';

describe('Group buys under concurrency (DynamoDB Local)', () => {
  let h: Harness;
  let clock: ManualClock;
  beforeAll(async () => {
    clock = new ManualClock(Date.parse('2026-11-24T10:00:00.000Z'));
    h = await createHarness({ clock });
  });

  it('500 users join a group of 10 at once: exactly 9 succeed, memberCount == 10 == member items, one GroupBuyFormed', async () => {
    const cid = await createGroupCampaign(h, { groupSize: 10 });
    const g = (
      await h.call('POST', '/v1/group-buys', {
        token: h.token('leader-500'),
        body: { campaignId: cid, orderId: 'ord-leader-500' },
      })
    ).body;
    const results = await Promise.all(
      Array.from({ length: 500 }, (_, i) =>
        h.call('POST', `/v1/group-buys/${g.id}/members`, {
          token: h.token(`joiner-${i}`),
          body: { orderId: `ord-join-${i}` },
        }),
      ),
    );
    const outcomes: Record<string, number> = {};
    for (const r of results) {
      const k = r.status === 201 ? '201' : `${r.status} ${r.body?.code}`;
      outcomes[k] = (outcomes[k] ?? 0) + 1;
    }
    expect(Object.keys(outcomes).filter((k) => !['201', '409 group_full', '410 group_closed'].includes(k))).toEqual([]);
    expect(outcomes['201']).toBe(9);
    const group = await findGroup(h.deps.store, g.id, true);
    expect(group).toMatchObject({ status: 'formed', memberCount: 10 });
    const members = await listMemberItems(h.deps.store, g.id);
    expect(members).toHaveLength(10);
    expect(Object.keys(group!.roster).sort()).toEqual(members.map((m) => m.userId).sort());
    const formed = await pendingEvents(h, 'GroupBuyFormed', g.id);
    expect(formed).toHaveLength(1);
    expect(formed[0].members.map((m: any) => m.orderId).sort()).toEqual(members.map((m) => m.orderId).sort());
    expect(await pendingEvents(h, 'GroupBuyJoined', g.id)).toHaveLength(9);
  }, 240_000); // 500 requests on one item: far past 60 s on a shared, busy 2-core box

  it('the same user joining the same group 5 times at once gets one membership', async () => {
    const cid = await createGroupCampaign(h, { groupSize: 5 });
    const g = (
      await h.call('POST', '/v1/group-buys', {
        token: h.token('leader-dup'),
        body: { campaignId: cid, orderId: 'ord-ld' },
      })
    ).body;
    const t = h.token('same-user');
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        h.call('POST', `/v1/group-buys/${g.id}/members`, {
          token: t,
          body: { orderId: i % 2 ? 'ord-same' : `ord-same-${i}` },
        }),
      ),
    );
    expect(results.filter((r) => r.status === 201)).toHaveLength(1);
    for (const r of results.filter((r) => r.status !== 201))
      expect([r.status, r.body.code]).toEqual([409, 'already_member']);
    const members = await listMemberItems(h.deps.store, g.id);
    expect(members.filter((m) => m.userId === 'same-user')).toHaveLength(1);
    expect(await findGroup(h.deps.store, g.id, true)).toMatchObject({ memberCount: 2, status: 'open' });
    expect(await pendingEvents(h, 'GroupBuyJoined', g.id)).toHaveLength(1);
  });

  it('join, leave and expiry racing on the last slot end formed or failed, never both, and the events agree', async () => {
    const cid = await createGroupCampaign(h, { groupSize: 3, durationSeconds: 60 });
    const rounds = 12;
    const groups: { id: string; expiresAt: string }[] = [];
    for (let i = 0; i < rounds; i++) {
      const g = (
        await h.call('POST', '/v1/group-buys', {
          token: h.token(`rl-${i}`),
          body: { campaignId: cid, orderId: `ord-rl-${i}` },
        })
      ).body;
      await h.call('POST', `/v1/group-buys/${g.id}/members`, {
        token: h.token(`rm-${i}`),
        body: { orderId: `ord-rm-${i}` },
      });
      groups.push(g);
    }
    // The HTTP side still sees the groups open (1 ms left) while a sweeper with a clock 1 ms ahead sees them due.
    const expiresAt = Date.parse(groups[0]!.expiresAt);
    clock.set(expiresAt - 1);
    const sweeper = { ...h.deps, clock: new ManualClock(Date.parse(groups.at(-1)!.expiresAt)) };
    const ops = groups.flatMap((g, i) => [
      h.call('POST', `/v1/group-buys/${g.id}/members`, { token: h.token(`rj-${i}`), body: { orderId: `ord-rj-${i}` } }),
      h.call('DELETE', `/v1/group-buys/${g.id}/members/me`, { token: h.token(`rm-${i}`) }),
      expireGroup(sweeper, g.id),
      i % 2
        ? expireGroup(sweeper, g.id)
        : h.call('POST', `/v1/group-buys/${g.id}/members`, {
            token: h.token(`rk-${i}`),
            body: { orderId: `ord-rk-${i}` },
          }),
    ]);
    const results = await Promise.all(ops);
    for (const r of results) if (typeof r === 'object') expect(r.status).toBeLessThan(500);
    await Promise.all(groups.map((g) => expireGroup(sweeper, g.id)));

    for (const g of groups) {
      const group = (await findGroup(h.deps.store, g.id, true))!;
      const members = await listMemberItems(h.deps.store, g.id);
      const formed = await pendingEvents(h, 'GroupBuyFormed', g.id);
      const failed = await pendingEvents(h, 'GroupBuyFailed', g.id);
      expect(formed.length + failed.length).toBe(1);
      expect(group.memberCount).toBe(members.length);
      expect(group.memberCount).toBeLessThanOrEqual(3);
      const orders = members.map((m) => m.orderId).sort();
      if (group.status === 'formed') {
        expect(formed[0].members.map((m: any) => m.orderId).sort()).toEqual(orders);
        expect(group.memberCount).toBe(3);
      } else {
        expect(group.status).toBe('failed');
        expect(failed[0].refunds.map((r: any) => r.orderId).sort()).toEqual(orders);
      }
      const joined = (await pendingEvents(h, 'GroupBuyJoined', g.id)).length;
      const left = (await pendingEvents(h, 'GroupBuyLeft', g.id)).length;
      expect(1 + joined - left).toBe(members.length);
    }
  }, 120_000);
});

describe('Group buys: the race for the last slot', () => {
  /** A clock that moves on 1 ms each time it is read, as time does between a join's arrival and its turn. */
  const ticking = { ms: Date.parse('2026-11-24T10:00:00.000Z'), now: () => ticking.ms++ };
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ clock: ticking });
  });

  it('answers 409 group_full to the joins that lost the last slot, and 410 group_closed to one that came after', async () => {
    const cid = await createGroupCampaign(h, { groupSize: 2 });
    const g = (
      await h.call('POST', '/v1/group-buys', {
        token: h.token('leader-race'),
        body: { campaignId: cid, orderId: 'ord-leader-race' },
      })
    ).body;
    const joinAs = (who: string) =>
      h.call('POST', `/v1/group-buys/${g.id}/members`, { token: h.token(who), body: { orderId: `ord-${who}` } });

    const racing = await Promise.all(Array.from({ length: 20 }, (_, i) => joinAs(`racer-${i}`)));
    const late = await joinAs('latecomer');

    const outcomes = racing.map((r) => (r.status === 201 ? '201' : `${r.status} ${r.body.code}`)).sort();
    expect(outcomes).toEqual(['201', ...Array(19).fill('409 group_full')]);
    expect([late.status, late.body.code]).toEqual([410, 'group_closed']);
  });

  it('answers 409 group_full to joins that arrived while the filling join was being written', async () => {
    const cid = await createGroupCampaign(h, { groupSize: 2 });
    const g = (
      await h.call('POST', '/v1/group-buys', {
        token: h.token('leader-slow'),
        body: { campaignId: cid, orderId: 'ord-leader-slow' },
      })
    ).body;
    const joinAs = (who: string) =>
      h.call('POST', `/v1/group-buys/${g.id}/members`, { token: h.token(who), body: { orderId: `ord-${who}` } });
    // The write that forms the group takes a while (a busy database): the other joins arrive meanwhile.
    const writing = deferred();
    const wrote = deferred();
    const transact = h.deps.store.transact.bind(h.deps.store);
    const spy = vi.spyOn(h.deps.store, 'transact').mockImplementation(async (items, ...rest) => {
      const forms = items.some((i) => 'Update' in i && String(i.Update.UpdateExpression).includes(':formed'));
      if (forms) {
        writing.resolve();
        await wrote.promise;
      }
      return transact(items, ...rest);
    });
    try {
      const winner = joinAs('filler');
      await writing.promise;
      const racing = Array.from({ length: 10 }, (_, i) => joinAs(`meanwhile-${i}`));
      await new Promise((r) => setTimeout(r, 200)); // each is in, waiting its turn behind the write
      wrote.resolve();
      expect((await winner).status).toBe(201);
      const outcomes = (await Promise.all(racing)).map((r) => `${r.status} ${r.body.code}`);
      expect(outcomes).toEqual(Array(10).fill('409 group_full'));
    } finally {
      spy.mockRestore();
    }
    const late = await joinAs('after-the-answer');
    expect([late.status, late.body.code]).toEqual([410, 'group_closed']);
  });
});
