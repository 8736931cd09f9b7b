import { beforeAll, describe, expect, it } from 'vitest';
import { inviteBindingKey, inviteBindingPrefix } from '#shared/store/keys';
import type { Harness } from '../../support/harness.ts';
import { inviteCampaign, inviteHarness, pendingEvents } from './support.ts';

describe('Invites under concurrency', () => {
  let h: Harness;
  beforeAll(async () => {
    ({ h } = await inviteHarness());
  });

  it('binds each of 100 invitees exactly once when they accept 10 inviters’ codes, 1,000 accepts at once', async () => {
    const cmp = await inviteCampaign(h);
    const inviters = Array.from({ length: 10 }, (_, i) => `inviter-${i}`);
    const invitees = Array.from({ length: 100 }, (_, i) => `invitee-${i}`);
    const codes = new Map<string, string>();
    for (const u of inviters)
      codes.set((await h.call('POST', '/v1/invites', { token: h.token(u), body: { campaignId: cmp } })).body.code, u);
    const tokens = new Map(invitees.map((u) => [u, h.token(u)]));

    const attempts = invitees.flatMap((u) => [...codes.keys()].map((code) => ({ u, code })));
    attempts.sort(() => Math.random() - 0.5);
    const rs = await Promise.all(
      attempts.map(async ({ u, code }) => ({
        u,
        code,
        r: await h.call('POST', `/v1/invites/${code}/accept`, { token: tokens.get(u)! }),
      })),
    );

    expect(rs.filter(({ r }) => r.status >= 500)).toEqual([]);
    const won = rs.filter(({ r }) => r.status === 201);
    expect(won).toHaveLength(100);
    expect(new Set(won.map(({ u }) => u)).size).toBe(100);
    expect(rs.filter(({ r }) => r.status === 409).every(({ r }) => r.body.code === 'already_invited')).toBe(true);
    expect(rs.filter(({ r }) => r.status === 409)).toHaveLength(900);

    const stored = await Promise.all(
      won.map(({ u }) =>
        h.deps.store.queryAll({
          pk: inviteBindingKey(cmp, u).pk,
          sk: { beginsWith: inviteBindingPrefix },
          consistent: true,
        }),
      ),
    );
    won.forEach(({ code, r }, i) => {
      expect(stored[i]).toHaveLength(1);
      expect(stored[i]![0]).toMatchObject({ inviterId: codes.get(code), code, inviteId: r.body.inviteId });
    });
    const accepted = (await pendingEvents(h, 'InviteAccepted')).map((e) => JSON.parse(e.detail));
    expect(accepted.filter((d) => d.campaignId === cmp)).toHaveLength(100);
    const qualified = (await pendingEvents(h, 'InviteQualified')).map((e) => JSON.parse(e.detail));
    expect(new Set(qualified.filter((d) => d.campaignId === cmp).map((d) => d.inviteeId)).size).toBe(100);
    expect(qualified.filter((d) => d.campaignId === cmp)).toHaveLength(100);

    let listed = 0;
    for (const u of inviters) {
      const page = await h.call('GET', `/v1/invites/mine?campaignId=${cmp}&limit=100`, { token: h.token(u) });
      listed += page.body.items.length;
    }
    expect(listed).toBe(100);
  }, 300_000);
});
