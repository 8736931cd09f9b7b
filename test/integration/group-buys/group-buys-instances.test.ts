import { beforeAll, describe, expect, it } from 'vitest';
import type { Deps } from '#shared/deps';
import { joinGroup } from '#shared/domain/group-buys/join-group';
import { leaveGroup } from '#shared/domain/group-buys/leave-group';
import { openGroup } from '#shared/domain/group-buys/open-group';
import { findGroup, listMemberItems } from '#shared/store/group-buys';
import { Store } from '#shared/store/store';
import { createHarness, type Harness } from '../../support/harness.ts';
import { createGroupCampaign } from './support.ts';

/**
 * Two instances (a Lambda container each, or two servers) on one table: each has its own store,
 * so per-instance state (join turns, the group a join hands to the next) is not shared. The clock
 * moves a millisecond per reading, not with the machine: a copy handed from one join to the next
 * is as recent as the code makes it, however slow the machine is.
 */
describe('Group buys across instances', () => {
  let h: Harness;
  let a: Deps;
  let b: Deps;
  let campaignId: string;

  beforeAll(async () => {
    let ms = Date.now();
    h = await createHarness({ clock: { now: () => ++ms } });
    a = h.deps;
    b = { ...h.deps, store: new Store(h.deps.store.client, h.deps.store.tableName) };
    campaignId = await createGroupCampaign(h, { groupSize: 5 });
  });

  it('joins from a handed-over group copy only while it is right: a leave or join elsewhere is seen', async () => {
    // Prepare: instance A opens a group and takes two joins (the second starts from the first's copy).
    const g = await openGroup(a, { campaignId, orderId: 'x-lead', userId: 'x-lead' });
    await joinGroup(a, { groupId: g.id, userId: 'x-1', orderId: 'x-o1' });
    await joinGroup(a, { groupId: g.id, userId: 'x-2', orderId: 'x-o2' });

    // Act: instance B changes the group behind A's copy, then A joins again and x-2 rejoins through A.
    await leaveGroup(b, { groupId: g.id, userId: 'x-2' });
    await joinGroup(b, { groupId: g.id, userId: 'x-3', orderId: 'x-o3' });
    const afterCopy = await joinGroup(a, { groupId: g.id, userId: 'x-4', orderId: 'x-o4' });
    const rejoin = await joinGroup(a, { groupId: g.id, userId: 'x-2', orderId: 'x-o2b' });

    // Assess: every join landed once, the count matches the member items, the last join formed the group.
    expect(afterCopy.memberCount).toBe(4);
    expect(rejoin).toMatchObject({ memberCount: 5, status: 'formed' });
    const stored = await findGroup(h.deps.store, g.id, true);
    const members = await listMemberItems(h.deps.store, g.id);
    expect(stored?.memberCount).toBe(5);
    expect(members.map((m) => m.userId).sort()).toEqual(['x-1', 'x-2', 'x-3', 'x-4', 'x-lead']);
    expect(members.find((m) => m.userId === 'x-2')?.orderId).toBe('x-o2b');
  });

  it('still refuses a second join of a member, whichever instance sees it', async () => {
    const g = await openGroup(a, { campaignId, orderId: 'y-lead', userId: 'y-lead' });
    await joinGroup(a, { groupId: g.id, userId: 'y-1', orderId: 'y-o1' });
    await expect(joinGroup(a, { groupId: g.id, userId: 'y-1', orderId: 'y-o1b' })).rejects.toMatchObject({
      code: 'already_member',
    });
    await expect(joinGroup(b, { groupId: g.id, userId: 'y-1', orderId: 'y-o1c' })).rejects.toMatchObject({
      code: 'already_member',
    });
    expect((await findGroup(h.deps.store, g.id, true))?.memberCount).toBe(2);
  });

  it('answers joins after the group formed from the formed copy: the same refusals a read gives, and no read', async () => {
    // Prepare: instance A fills a group of 5, so it holds the formed group as written.
    const g = await openGroup(a, { campaignId, orderId: 'z-lead', userId: 'z-lead' });
    for (const n of [1, 2, 3]) await joinGroup(a, { groupId: g.id, userId: `z-${n}`, orderId: `z-o${n}` });
    const filled = await joinGroup(a, { groupId: g.id, userId: 'z-4', orderId: 'z-o4' });

    // Act: a newcomer and a member try to join through A, and the newcomer again through B.
    const requestsBefore = a.store.stats.requests;
    const late = await joinGroup(a, { groupId: g.id, userId: 'z-late', orderId: 'z-o-late' }).catch((e) => e);
    const member = await joinGroup(a, { groupId: g.id, userId: 'z-2', orderId: 'z-o2b' }).catch((e) => e);
    const requestsOnA = a.store.stats.requests - requestsBefore;
    const elsewhere = await joinGroup(b, { groupId: g.id, userId: 'z-late', orderId: 'z-o-late' }).catch((e) => e);

    // Assess: A answered both without DynamoDB, with what B answers from a read; nothing changed.
    expect(filled.status).toBe('formed');
    expect(late).toMatchObject({ code: 'group_closed' });
    expect(member).toMatchObject({ code: 'already_member' });
    expect(requestsOnA).toBe(0);
    expect(elsewhere).toMatchObject({ code: 'group_closed' });
    expect((await findGroup(h.deps.store, g.id, true))?.memberCount).toBe(5);
    expect(await listMemberItems(h.deps.store, g.id)).toHaveLength(5);
  });
});
