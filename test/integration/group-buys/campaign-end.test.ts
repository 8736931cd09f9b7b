import { beforeAll, describe, expect, it } from 'vitest';
import { findGroup, insertGroup } from '#shared/store/group-buys';
import { campaignEndKey } from '#shared/store/keys';
import { createHarness, type Harness, ManualClock } from '../../support/harness.ts';
import { createGroupCampaign, pendingEvents } from './support.ts';

/** An admin ending a group-buy campaign (PATCH): its open groups close within seconds, not at their own timers. */
describe('Group buys: their campaign ended by an admin', () => {
  let h: Harness;
  let clock: ManualClock;
  let n = 0;
  const admin = () => h.token('admin', ['admin']);
  const open = async (campaignId: string) => {
    const i = ++n;
    const leader = `end-leader-${i}`;
    const orderId = `end-order-${i}`;
    const r = await h.call('POST', '/v1/group-buys', { token: h.token(leader), body: { campaignId, orderId } });
    expect(r.status).toBe(201);
    return { id: r.body.id as string, leader, orderId };
  };
  const join = async (groupId: string) => {
    const i = ++n;
    const orderId = `end-order-${i}`;
    const r = await h.call('POST', `/v1/group-buys/${groupId}/members`, {
      token: h.token(`end-member-${i}`),
      body: { orderId },
    });
    expect(r.status).toBe(201);
    return orderId;
  };
  const end = (campaignId: string) =>
    h.call('PATCH', `/v1/admin/campaigns/${campaignId}`, { token: admin(), body: { status: 'ended' } });
  const view = async (groupId: string) =>
    (await h.call('GET', `/v1/group-buys/${groupId}`, { token: h.token('someone') })).body;

  beforeAll(async () => {
    clock = new ManualClock(Date.parse('2026-12-01T10:00:00.000Z'));
    h = await createHarness({ clock });
  });

  it('fails every open group (campaign_ended, dated the end) with GroupBuyFailed listing its orders, once, however many sweeps race', async () => {
    const campaignId = await createGroupCampaign(h, { durationSeconds: 24 * 3600, groupSize: 4 });
    const groups = await Promise.all(Array.from({ length: 3 }, () => open(campaignId)));
    const memberOrder = await join(groups[0]!.id);
    const full = await open(campaignId);
    for (let i = 0; i < 3; i++) await join(full.id);
    expect((await view(full.id)).status).toBe('formed');

    const ended = await end(campaignId);
    expect([ended.status, ended.body.status]).toEqual([200, 'ended']);
    const endedAt = new Date(clock.now()).toISOString();
    // Not before the end has reached every instance.
    expect(await h.sweep()).toBe(0);
    expect((await view(groups[0]!.id)).status).toBe('open');

    clock.advance(3);
    await Promise.all([h.sweep(), h.sweep(), h.sweep()]);
    for (const g of groups) {
      const v = await view(g.id);
      expect(v).toMatchObject({ status: 'failed', failReason: 'campaign_ended', failedAt: endedAt });
      const failed = await pendingEvents(h, 'GroupBuyFailed', g.id);
      expect(failed).toHaveLength(1);
      expect(failed[0]).toMatchObject({ reason: 'campaign_ended', leaderId: g.leader });
      const refunds = failed[0].refunds.map((r: { orderId: string }) => r.orderId).sort();
      expect(refunds).toEqual(g === groups[0] ? [g.orderId, memberOrder].sort() : [g.orderId]);
    }
    // A group that formed before the end stays formed.
    expect((await view(full.id)).status).toBe('formed');
    expect(await pendingEvents(h, 'GroupBuyFailed', full.id)).toHaveLength(0);
    // A group whose open passed its campaign check before the end but landed after the first pass
    // is closed by the last pass, a minute after the end; then nothing is left to sweep.
    const late = await findGroup(h.deps.store, groups[1]!.id, true);
    const lateId = `grp_late_${campaignId}`;
    await insertGroup(
      h.deps.store,
      {
        ...late!,
        id: lateId,
        leaderId: 'late-leader',
        leaderOrderId: 'late-order',
        status: 'open',
        expiresAt: new Date(clock.now() + 3600_000).toISOString(),
        roster: { 'late-leader': { ...late!.roster[groups[1]!.leader]!, orderId: 'late-order' } },
        rev: 1,
      },
      1,
      [],
    );
    expect((await h.deps.store.get(campaignEndKey(campaignId), true))?.lastPass).toBe(true);
    clock.advance(60);
    await h.sweep();
    expect((await view(lateId)).failReason).toBe('campaign_ended');
    expect(await h.deps.store.get(campaignEndKey(campaignId), true)).toBeUndefined();
    // Their own timers, later, change nothing.
    clock.advance(24 * 3600);
    await h.sweep();
    for (const g of groups) expect(await pendingEvents(h, 'GroupBuyFailed', g.id)).toHaveLength(1);
  });

  it('forms the open groups with simulated members when the campaign fills on expiry', async () => {
    const campaignId = await createGroupCampaign(h, { autoFillOnExpiry: true, durationSeconds: 3600 });
    const g = await open(campaignId);
    await join(g.id);
    expect((await end(campaignId)).status).toBe(200);
    clock.advance(3);
    await h.sweep();
    const v = await view(g.id);
    expect(v).toMatchObject({ status: 'formed', memberCount: 3 });
    const [formed] = await pendingEvents(h, 'GroupBuyFormed', g.id);
    expect(formed.members).toHaveLength(3);
    expect(formed.members.filter((m: { simulated?: boolean }) => m.simulated)).toHaveLength(1);
  });

  it('closes more groups than one round takes over the following rounds, and an end sent again is harmless', async () => {
    const campaignId = await createGroupCampaign(h, { durationSeconds: 3600 });
    const groups: { id: string }[] = [];
    for (let i = 0; i < 6; i++) groups.push(...(await Promise.all(Array.from({ length: 10 }, () => open(campaignId)))));
    expect((await end(campaignId)).status).toBe(200);
    expect((await end(campaignId)).status).toBe(200);
    clock.advance(3);
    // One round takes 50 groups: the first closes 50, the next the other 10.
    await h.sweep();
    const afterOne = await Promise.all(groups.map(async (g) => (await view(g.id)).status));
    expect(afterOne.filter((s) => s === 'failed')).toHaveLength(50);
    await h.sweep();
    clock.advance(60);
    await h.sweep();
    const statuses = await Promise.all(groups.map(async (g) => (await view(g.id)).status));
    expect(statuses.filter((s) => s === 'failed')).toHaveLength(60);
    const listed = await h.call('GET', `/v1/group-buys?campaignId=${campaignId}`, { token: h.token('someone') });
    expect(listed.body.items).toEqual([]);
    expect(await h.deps.store.get(campaignEndKey(campaignId), true)).toBeUndefined();
  });

  it('leaves the groups of a paused campaign open', async () => {
    const campaignId = await createGroupCampaign(h, { durationSeconds: 3600 });
    const g = await open(campaignId);
    const paused = await h.call('PATCH', `/v1/admin/campaigns/${campaignId}`, {
      token: admin(),
      body: { status: 'paused' },
    });
    expect(paused.status).toBe(200);
    clock.advance(3);
    await h.sweep();
    expect((await view(g.id)).status).toBe('open');
  });
});
