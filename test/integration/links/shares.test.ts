import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sharesConversionsConsumer } from '#functions/consumers/shares-conversions';
import { settleClicks } from '#functions/links/background';
import { buildEvent } from '#shared/events/outbox';
import { createHarness, type Harness } from '../../support/harness.ts';

const UA = 'Mozilla/5.0 (iPhone) MicroMessenger/8.0';

describe('Shares', () => {
  let h: Harness;
  let alice: string;
  beforeAll(async () => {
    h = await createHarness({ env: { H5_BASE_URL: 'https://h5.example.com' } });
    alice = h.token('alice');
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
    const r = await share({ objectType: 'bargain', objectId: 'brg_1', channel: 'wechat' });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      shareId: expect.stringMatching(/^shr_/),
      url: `http://localhost:3000/s/${r.body.code}`,
      targetUrl: 'https://h5.example.com/bargains/brg_1',
    });
    const click = await clickAs(r.body.code, 'visitor-s-1');
    expect(click.status).toBe(302);
    expect(click.location.startsWith('https://h5.example.com/bargains/brg_1?fission_ref=')).toBe(true);
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
    const a = await share({ objectType: 'bargain', objectId: 'brg_2', channel: 'wechat' });
    const b = await share({ objectType: 'bargain', objectId: 'brg_2', channel: 'moments' });
    const v1 = await clickAs(a.body.code, 'visitor-s-2');
    await clickAs(a.body.code, 'visitor-s-2');
    await clickAs(b.body.code, 'visitor-s-3');
    await helped('brg_2', 'helper-1', { ref: v1.ref });
    await helped('brg_2', 'helper-1', { ref: v1.ref });
    await helped('brg_2', 'helper-2', { visitorId: 'visitor-s-3' });
    await helped('brg_2', 'helper-3', { visitorId: 'visitor-never-clicked' });
    await helped('brg_other', 'helper-4', { ref: v1.ref });
    await helped('brg_2', 'alice', { ref: v1.ref });
    await helped('brg_2', 'helper-5', { ref: `${v1.ref.slice(0, -1)}${v1.ref.endsWith('A') ? 'B' : 'A'}` });
    const r = await stats('bargain', 'brg_2');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ shares: 2, clicks: 3, uniqueVisitors: 2, conversions: 2 });
    const other = await stats('bargain', 'brg_2', h.token('bob'));
    expect([other.status, other.body.code]).toEqual([404, 'not_found']);
    expect((await stats('bargain', 'brg_never')).status).toBe(404);
    expect((await h.call('GET', '/v1/shares/stats?objectType=bargain', { token: alice })).status).toBe(400);
  });

  it('counts a join or an invite acceptance through the share of that object', async () => {
    const g = await share({ objectType: 'group_buy', objectId: 'grp_9', channel: 'c' });
    const i = await share({ objectType: 'invite', objectId: 'invcode9', channel: 'c' });
    const gv = await clickAs(g.body.code, 'visitor-g');
    const iv = await clickAs(i.body.code, 'visitor-i');
    await sharesConversionsConsumer.handle(
      buildEvent(
        'GroupBuyJoined',
        { groupId: 'grp_9', campaignId: 'c', userId: 'j1', orderId: 'o', memberCount: 2, via: { ref: gv.ref } },
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
          code: 'invcode9',
          inviterId: 'alice',
          inviteeId: 'n1',
          via: { visitorId: 'visitor-i' },
        },
        h.clock,
      ),
      h.deps,
    );
    expect((await stats('group_buy', 'grp_9')).body.conversions).toBe(1);
    expect((await stats('invite', 'invcode9')).body.conversions).toBe(1);
    expect(iv.status).toBe(302);
  });
});
