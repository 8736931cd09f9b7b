import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sharesConversionsConsumer } from '#functions/consumers/shares-conversions';
import { settleClicks } from '#functions/links/background';
import { buildEvent } from '#shared/events/outbox';
import { createHarness, type Harness } from '../../support/harness.ts';
import { holdBatchWrites } from '../../support/hold-batch-writes.ts';
import { createBargainCampaign, startChain } from '../bargains/support.ts';
import { createGroupCampaign } from '../group-buys/support.ts';
import { inviteCampaign } from '../invites/support.ts';

const UA = 'Mozilla/5.0 (iPhone) MicroMessenger/8.0';

describe('Shares', () => {
  let h: Harness;
  let alice: string;
  /** Real objects to share: two bargain chains, a group buy and an invite code. */
  let chain1: string;
  let chain2: string;
  let group: string;
  let inviteCode: string;
  beforeAll(async () => {
    h = await createHarness({ env: { H5_BASE_URL: 'https://h5.example.com' } });
    alice = h.token('alice');
    const bargains = await createBargainCampaign(h);
    chain1 = (await startChain(h, bargains, 'starter-1')).id;
    chain2 = (await startChain(h, bargains, 'starter-2')).id;
    const groups = await createGroupCampaign(h);
    const g = await h.call('POST', '/v1/group-buys', {
      token: h.token('leader-1'),
      body: { campaignId: groups, orderId: 'ord-share-g' },
    });
    group = g.body.id;
    const invites = await inviteCampaign(h);
    inviteCode = (await h.call('POST', '/v1/invites', { token: alice, body: { campaignId: invites } })).body.code;
  });
  afterAll(settleClicks);

  const share = (body: Record<string, unknown>, token = alice) => h.call('POST', '/v1/shares', { token, body });
  const stats = (objectType: string, objectId: string, token = alice) =>
    h.call('GET', `/v1/shares/stats?objectType=${objectType}&objectId=${objectId}`, { token });
  const clickAs = async (code: string, visitor: string) => {
    const r = await h.call('GET', `/s/${code}`, { headers: { 'user-agent': UA, cookie: `fission_vid=${visitor}` } });
    await settleClicks();
    return {
      status: r.status,
      location: r.headers.get('location')!,
      ref: new URL(r.headers.get('location')!).searchParams.get('fission_ref')!,
    };
  };
  const helped = (chainId: string, helperId: string, via?: { visitorId?: string; ref?: string }) =>
    sharesConversionsConsumer.handle(
      buildEvent(
        'BargainHelped',
        { chainId, campaignId: 'cmp_x', helperId, cut: 10, price: 990, helperCount: 1, ...(via ? { via } : {}) },
        h.clock,
      ),
      h.deps,
    );

  it('makes a tracked short link to the object’s H5 page', async () => {
    const r = await share({ objectType: 'bargain', objectId: chain1, channel: 'wechat' });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      shareId: expect.stringMatching(/^shr_/),
      url: `http://localhost:3000/s/${r.body.code}`,
      targetUrl: `https://h5.example.com/bargains/${chain1}`,
    });
    const click = await clickAs(r.body.code, 'visitor-s-1');
    expect(click.status).toBe(302);
    expect(click.location.startsWith(`https://h5.example.com/bargains/${chain1}?fission_ref=`)).toBe(true);
  });

  it('answers 404 for a bargain chain, group buy or invite code that does not exist, and takes any product id', async () => {
    for (const objectType of ['bargain', 'group_buy', 'invite']) {
      const r = await share({ objectType, objectId: 'nope', channel: 'c' });
      expect([objectType, r.status, r.body.code]).toEqual([objectType, 404, 'not_found']);
    }
    expect((await stats('bargain', 'nope')).status).toBe(404);
    const product = await share({ objectType: 'product', objectId: 'sku-123', channel: 'c' });
    expect([product.status, product.body.targetUrl]).toEqual([201, 'https://h5.example.com/products/sku-123']);
  });

  it('validates the body and needs a user', async () => {
    expect((await share({ objectType: 'lottery', objectId: 'x', channel: 'c' })).status).toBe(400);
    expect((await share({ objectType: 'bargain', objectId: '../x', channel: 'c' })).status).toBe(400);
    expect((await share({ objectType: 'bargain', objectId: 'x' })).status).toBe(400);
    expect((await share({ objectType: 'bargain', objectId: 'x', channel: 'c', more: 1 })).status).toBe(400);
    expect(
      (await h.call('POST', '/v1/shares', { body: { objectType: 'bargain', objectId: 'x', channel: 'c' } })).status,
    ).toBe(401);
  });

  it('counts shares, clicks, unique visitors and conversions; only the owner sees them', async () => {
    const a = await share({ objectType: 'bargain', objectId: chain2, channel: 'wechat' });
    const b = await share({ objectType: 'bargain', objectId: chain2, channel: 'moments' });
    const v1 = await clickAs(a.body.code, 'visitor-s-2');
    await clickAs(a.body.code, 'visitor-s-2');
    await clickAs(b.body.code, 'visitor-s-3');
    await clickAs(b.body.code, 'visitor-s-2'); // the same visitor through the other share: not a new one
    await helped(chain2, 'helper-1', { ref: v1.ref });
    await helped(chain2, 'helper-1', { ref: v1.ref });
    await helped(chain2, 'helper-2', { visitorId: 'visitor-s-3' });
    await helped(chain2, 'helper-3', { visitorId: 'visitor-never-clicked' });
    await helped('brg_other', 'helper-4', { ref: v1.ref });
    await helped(chain2, 'alice', { ref: v1.ref });
    await helped(chain2, 'helper-5', { ref: `${v1.ref.slice(0, -1)}${v1.ref.endsWith('A') ? 'B' : 'A'}` });
    const r = await stats('bargain', chain2);
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ shares: 2, clicks: 4, uniqueVisitors: 2, conversions: 2 });
    const other = await stats('bargain', chain2, h.token('bob'));
    expect([other.status, other.body.code]).toEqual([404, 'not_found']);
    expect((await stats('bargain', 'brg_never')).status).toBe(404);
    expect((await h.call('GET', '/v1/shares/stats?objectType=bargain', { token: alice })).status).toBe(400);
  });

  it('counts a join or an invite acceptance through the share of that object', async () => {
    const g = await share({ objectType: 'group_buy', objectId: group, channel: 'c' });
    // An invite code is taken in any letter case, as the invite routes take it.
    const i = await share({ objectType: 'invite', objectId: inviteCode.toUpperCase(), channel: 'c' });
    expect(i.status).toBe(201);
    expect(i.body.targetUrl).toBe(`https://h5.example.com/invites/${inviteCode}`);
    const gv = await clickAs(g.body.code, 'visitor-g');
    const iv = await clickAs(i.body.code, 'visitor-i');
    await sharesConversionsConsumer.handle(
      buildEvent(
        'GroupBuyJoined',
        { groupId: group, campaignId: 'c', userId: 'j1', orderId: 'o', memberCount: 2, via: { ref: gv.ref } },
        h.clock,
      ),
      h.deps,
    );
    await sharesConversionsConsumer.handle(
      buildEvent(
        'InviteAccepted',
        {
          inviteId: 'inv_1',
          campaignId: 'c',
          code: inviteCode,
          inviterId: 'alice',
          inviteeId: 'n1',
          via: { visitorId: 'visitor-i' },
        },
        h.clock,
      ),
      h.deps,
    );
    expect((await stats('group_buy', group)).body.conversions).toBe(1);
    expect((await stats('invite', inviteCode)).body.conversions).toBe(1);
    expect((await stats('invite', inviteCode.toUpperCase())).body).toMatchObject({ shares: 1, conversions: 1 });
    expect(iv.status).toBe(302);
  });

  it('counts a join or help sent straight after the share link’s redirect, by its visitor id alone', async () => {
    const groups = await createGroupCampaign(h, { groupSize: 10 });
    const g = await h.call('POST', '/v1/group-buys', {
      token: h.token('leader-now'),
      body: { campaignId: groups, orderId: 'ord-now-leader' },
    });
    const gs = await share({ objectType: 'group_buy', objectId: g.body.id, channel: 'c' }, h.token('leader-now'));
    const chain = (await startChain(h, await createBargainCampaign(h, { helpersRequired: 10 }), 'starter-now')).id;
    const cs = await share({ objectType: 'bargain', objectId: chain, channel: 'c' }, h.token('starter-now'));
    const redirect = (code: string, visitor: string) =>
      h.call('GET', `/s/${code}`, { headers: { 'user-agent': UA, cookie: `fission_vid=${visitor}` } });
    // Delivering events as they commit, as the local server does: the conversion is judged at once.
    h.bus.start();
    const answers = await Promise.all(
      Array.from({ length: 5 }, async (_, i) => {
        // No settling in between: the action names only the visitor whose click is still being written.
        await redirect(gs.body.code, `now-g-${i}`);
        const join = await h.call('POST', `/v1/group-buys/${g.body.id}/members`, {
          token: h.token(`joiner-now-${i}`),
          headers: { cookie: `fission_vid=now-g-${i}` },
          body: { orderId: `ord-now-${i}` },
        });
        await redirect(cs.body.code, `now-c-${i}`);
        const help = await h.call('POST', `/v1/bargains/${chain}/helps`, {
          token: h.token(`helper-now-${i}`),
          // One also sends a cookie that is no visitor id (as the redirect, the help ignores it).
          headers: { 'x-fission-visitor': `now-c-${i}`, ...(i === 0 ? { cookie: 'fission_vid=bad%20value' } : {}) },
        });
        return [join.status, help.status];
      }),
    );
    await h.bus.stop();
    expect(answers).toEqual(Array(5).fill([201, 201]));
    expect((await stats('group_buy', g.body.id, h.token('leader-now'))).body.conversions).toBe(5);
    expect((await stats('bargain', chain, h.token('starter-now'))).body.conversions).toBe(5);
  });

  it('counts a help whose visitor’s click the database has yet to acknowledge, behind a burst of others', async () => {
    const chain = (await startChain(h, await createBargainCampaign(h, { helpersRequired: 10 }), 'starter-busy')).id;
    const cs = await share({ objectType: 'bargain', objectId: chain, channel: 'c' }, h.token('starter-busy'));
    const writes = holdBatchWrites(h.deps.store);
    h.bus.start();
    try {
      for (let i = 0; i < 10; i++)
        await h.call('GET', `/s/${cs.body.code}`, { headers: { 'user-agent': UA, cookie: `fission_vid=busy-${i}` } });
      await vi.waitFor(() => expect(writes.held('VCLICKS#v:busy-')).toBe(10));
      writes.stop();
      const help = await h.call('POST', `/v1/bargains/${chain}/helps`, {
        token: h.token('helper-busy'),
        headers: { 'x-fission-visitor': 'busy-3' },
      });
      expect(help.status).toBe(201);
    } finally {
      writes.release();
      await h.bus.stop();
      await settleClicks();
    }
    expect((await stats('bargain', chain, h.token('starter-busy'))).body.conversions).toBe(1);
  });

  it('counts a user once for an object, whichever of its owner’s shares they came through', async () => {
    const first = await share({ objectType: 'group_buy', objectId: group, channel: 'wechat' });
    const second = await share({ objectType: 'group_buy', objectId: group, channel: 'moments' });
    const before = (await stats('group_buy', group)).body.conversions as number;
    // The same user joins through the first share, leaves, and joins again through the second.
    for (const [code, visitor] of [
      [first.body.code, 'visitor-twice-1'],
      [second.body.code, 'visitor-twice-2'],
    ]) {
      const { ref } = await clickAs(code, visitor);
      await sharesConversionsConsumer.handle(
        buildEvent(
          'GroupBuyJoined',
          { groupId: group, campaignId: 'c', userId: 'j-twice', orderId: `o-${visitor}`, memberCount: 2, via: { ref } },
          h.clock,
        ),
        h.deps,
      );
    }
    expect((await stats('group_buy', group)).body.conversions).toBe(before + 1);
  });

  it('tells frontends, on each action a share can lead to, how to pass the share visit along', async () => {
    const doc = (await h.call('GET', '/openapi.json')).body;
    for (const path of ['/v1/bargains/{id}/helps', '/v1/group-buys/{id}/members', '/v1/invites/{code}/accept']) {
      const text = doc.paths[path].post.description as string;
      for (const how of ['X-Fission-Ref', 'fission_ref', 'fission_vid', 'X-Fission-Visitor'])
        expect(text, path).toContain(how);
    }
  });
});
