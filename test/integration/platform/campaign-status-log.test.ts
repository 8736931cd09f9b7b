import { describe, expect, it } from 'vitest';
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
    const start = Date.parse('2026-01-01T00:00:00.000Z');
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
});
