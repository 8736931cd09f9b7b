import { describe, expect, it } from 'vitest';
import { ManualClock } from '#shared/clock';
import { setCampaignStatus } from '#shared/store/campaigns';
import { campaignKey } from '#shared/store/keys';
import { createHarness } from '../../support/harness.ts';

describe('Campaign status changes', () => {
  it('records a change only when the status changes, and keeps the log bounded', async () => {
    const h = await createHarness();
    const admin = h.token('admin', ['admin']);
    const c = await h.call('POST', '/v1/admin/campaigns', {
      token: admin,
      body: { type: 'commission', title: 'log', rules: { rateBps: 100 } },
    });
    const patch = (status: string) =>
      h.call('PATCH', `/v1/admin/campaigns/${c.body.id}`, { token: admin, body: { status } });
    const log = async () =>
      ((await h.deps.store.get(campaignKey(c.body.id), true))?.statusChanges as unknown[] | undefined) ?? [];
    for (const s of ['paused', 'paused', 'active', 'active', 'ended', 'ended', 'ended'])
      expect((await patch(s)).status).toBe(200);
    expect(await log()).toHaveLength(3);
    expect(((await patch('active')).body as { code: string }).code).toBe('conflict');
    // A long-lived campaign paused and resumed every hour: the log never passes its bound.
    const d = await h.call('POST', '/v1/admin/campaigns', {
      token: admin,
      body: { type: 'commission', title: 'toggled', rules: { rateBps: 100 } },
    });
    const start = Date.parse(d.body.createdAt) + 3_600_000;
    for (let i = 0; i < 1100; i++)
      await setCampaignStatus(
        h.deps.store,
        d.body.id,
        i % 2 ? 'active' : 'paused',
        new Date(start + i * 3_600_000).toISOString(),
      );
    const kept = (await h.deps.store.get(campaignKey(d.body.id), true))?.statusChanges as { at: string }[];
    expect(kept.length).toBeLessThanOrEqual(500);
    expect(kept.at(-1)!.at).toBe(new Date(start + 1099 * 3_600_000).toISOString());
  }, 120_000);

  it('keeps the status last written when two changes are written in the other order to their times', async () => {
    const clock = new ManualClock();
    const h = await createHarness({ clock });
    const admin = h.token('admin', ['admin']);
    const c = await h.call('POST', '/v1/admin/campaigns', {
      token: admin,
      body: { type: 'commission', title: 'crossed', rules: { rateBps: 100 } },
    });
    const created = Date.parse(c.body.createdAt);
    const at = (seconds: number) => new Date(created + seconds * 1000).toISOString();
    await setCampaignStatus(h.deps.store, c.body.id, 'paused', at(10));
    // "active" took its time later but is written first; "ended", stamped before it, is written last.
    await setCampaignStatus(h.deps.store, c.body.id, 'active', at(30));
    const ended = await setCampaignStatus(h.deps.store, c.body.id, 'ended', at(20));
    expect(ended.status).toBe('ended');
    clock.set(created + 60_000);
    const seen = await h.call('GET', `/v1/admin/campaigns/${c.body.id}`, { token: admin });
    expect(seen.body.status).toBe('ended');
    const link = await h.call('POST', '/v1/links', {
      token: h.token('kol-crossed', ['kol']),
      body: { targetUrl: 'https://shop.example.com/', campaignId: c.body.id },
    });
    expect([link.status, link.body.code]).toEqual([409, 'campaign_inactive']);
  });

  it('answers every PATCH with the status it set, and keeps the last one written, under concurrent changes', async () => {
    const h = await createHarness();
    const admin = h.token('admin', ['admin']);
    for (let round = 0; round < 15; round++) {
      const c = await h.call('POST', '/v1/admin/campaigns', {
        token: admin,
        body: { type: 'commission', title: `race-${round}`, rules: { rateBps: 100 } },
      });
      const patch = (status: string) =>
        h.call('PATCH', `/v1/admin/campaigns/${c.body.id}`, { token: admin, body: { status } });
      const wanted = ['paused', 'active', 'paused', 'active', 'paused', 'active'];
      const answers = await Promise.all(wanted.map(patch));
      for (const [i, r] of answers.entries()) expect([r.status, r.body.status]).toEqual([200, wanted[i]]);
      const read = async () => (await h.call('GET', `/v1/admin/campaigns/${c.body.id}`, { token: admin })).body.status;
      const other = (await read()) === 'active' ? 'paused' : 'active';
      expect((await patch(other)).body.status).toBe(other);
      expect(await read()).toBe(other);
    }
  }, 120_000);
});
