import { beforeAll, describe, expect, it } from 'vitest';
import { bargainDueKey, bargainKey, bargainLockKey, bargainScheduleKey } from '#shared/store/keys';
import { createHarness, type Harness, ManualClock } from '../../support/harness.ts';
import { baseRules, createBargainCampaign, help, outboxEvents, startChain } from './support.ts';

describe('Bargains API', () => {
  let h: Harness;
  let clock: ManualClock;
  let campaignId: string;
  beforeAll(async () => {
    clock = new ManualClock();
    h = await createHarness({ clock });
    campaignId = await createBargainCampaign(h);
  });

  describe('POST /v1/bargains', () => {
    it('starts a chain with the documented fields, 201, then answers the same active chain with 200', async () => {
      const r = await h.call('POST', '/v1/bargains', { token: h.token('starter-1'), body: { campaignId } });
      expect(r.status).toBe(201);
      expect(r.body).toMatchObject({
        campaignId,
        initiatorId: 'starter-1',
        status: 'active',
        originalPrice: 10_000,
        floorPrice: 2_000,
        price: 10_000,
        helpersRequired: 3,
        helperCount: 0,
        expiresAt: new Date(clock.now() + 3600_000).toISOString(),
        shareUrl: `http://localhost:3000/h5/bargains/${r.body.id}`,
      });
      expect(r.body.id).toMatch(/^brg_/);
      const again = await h.call('POST', '/v1/bargains', { token: h.token('starter-1'), body: { campaignId } });
      expect(again.status).toBe(200);
      expect(again.body).toEqual(r.body);
      const started = (await outboxEvents(h, r.body.id)).filter((e) => e.type === 'BargainStarted');
      expect(started).toHaveLength(1);
      expect(started[0]!.detail).toMatchObject({ initiatorId: 'starter-1', sku: 'sku-bargain', helpersRequired: 3 });
    });

    it('gives one user one chain when they start many times at once', async () => {
      const rs = await Promise.all(
        Array.from({ length: 8 }, () =>
          h.call('POST', '/v1/bargains', { token: h.token('starter-2'), body: { campaignId } }),
        ),
      );
      expect(rs.filter((r) => r.status === 201)).toHaveLength(1);
      expect(rs.every((r) => r.status === 201 || r.status === 200)).toBe(true);
      expect(new Set(rs.map((r) => r.body.id)).size).toBe(1);
    });

    it.each([
      ['missing campaignId', {}],
      ['unknown field', { campaignId: 'cmp_x', extra: 1 }],
      ['wrong type', { campaignId: 42 }],
      ['empty campaignId', { campaignId: '' }],
    ])('refuses %s with 400 validation_failed', async (_n, body) => {
      const r = await h.call('POST', '/v1/bargains', { token: h.token('v-1'), body });
      expect([r.status, r.body.code]).toEqual([400, 'validation_failed']);
      expect(r.headers.get('content-type')).toContain('application/problem+json');
    });

    it('refuses malformed JSON with 400', async () => {
      const r = await h.call('POST', '/v1/bargains', {
        token: h.token('v-1'),
        raw: '{"campaignId":',
        headers: { 'content-type': 'application/json' },
      });
      expect([r.status, r.body.code]).toEqual([400, 'validation_failed']);
    });

    it('needs a token (401) and the user role (403)', async () => {
      const anon = await h.call('POST', '/v1/bargains', { body: { campaignId } });
      expect([anon.status, anon.body.code]).toEqual([401, 'unauthorized']);
      const kol = await h.call('POST', '/v1/bargains', { token: h.token('k-1', ['kol']), body: { campaignId } });
      expect([kol.status, kol.body.code]).toEqual([403, 'forbidden']);
    });

    it('answers 404 for an unknown campaign or one of another type, 409 for an inactive one', async () => {
      const missing = await h.call('POST', '/v1/bargains', { token: h.token('v-2'), body: { campaignId: 'cmp_nope' } });
      expect([missing.status, missing.body.code]).toEqual([404, 'not_found']);
      const invite = await h.call('POST', '/v1/admin/campaigns', {
        token: h.token('admin-1', ['admin']),
        body: {
          type: 'invite',
          title: 'i',
          rules: {
            inviterReward: { asset: 'points', amount: 1 },
            inviteeReward: { asset: 'points', amount: 1 },
            qualifyingAction: 'signup',
          },
        },
      });
      const wrongType = await h.call('POST', '/v1/bargains', {
        token: h.token('v-2'),
        body: { campaignId: invite.body.id },
      });
      expect([wrongType.status, wrongType.body.code]).toEqual([404, 'not_found']);
      const paused = await createBargainCampaign(h);
      await h.call('PATCH', `/v1/admin/campaigns/${paused}`, {
        token: h.token('admin-1', ['admin']),
        body: { status: 'paused' },
      });
      const inactive = await h.call('POST', '/v1/bargains', { token: h.token('v-2'), body: { campaignId: paused } });
      expect([inactive.status, inactive.body.code]).toEqual([409, 'campaign_inactive']);
    });

    it('replays the first answer for the same Idempotency-Key', async () => {
      const headers = { 'idempotency-key': 'start-once' };
      const a = await h.call('POST', '/v1/bargains', { token: h.token('idem-1'), body: { campaignId }, headers });
      const b = await h.call('POST', '/v1/bargains', { token: h.token('idem-1'), body: { campaignId }, headers });
      expect([a.status, b.status]).toEqual([201, 201]);
      expect(b.body).toEqual(a.body);
    });
  });

  describe('POST /v1/bargains/{id}/helps and GET /v1/bargains/{id}', () => {
    it('cuts the price help by help to exactly the floor, then closes the chain', async () => {
      const chain = await startChain(h, campaignId, 'init-a');
      const cuts: number[] = [];
      for (const [i, user] of ['helper-1', 'helper-2', 'helper-3'].entries()) {
        const r = await help(h, chain.id, user, user === 'helper-1' ? '张三丰' : undefined);
        expect(r.status).toBe(201);
        expect(r.body.helperCount).toBe(i + 1);
        expect(r.body.cut).toBeGreaterThanOrEqual(1);
        cuts.push(r.body.cut);
        expect(r.body.price).toBe(10_000 - cuts.reduce((a, b) => a + b, 0));
        expect(r.body.status).toBe(i === 2 ? 'completed' : 'active');
      }
      expect(cuts[0]!).toBeGreaterThanOrEqual(cuts[2]!);
      const closed = await help(h, chain.id, 'helper-4');
      expect([closed.status, closed.body.code]).toEqual([409, 'bargain_closed']);
      const retried = await help(h, chain.id, 'helper-3');
      expect([retried.status, retried.body.code]).toEqual([409, 'already_helped']);

      const seen = await h.call('GET', `/v1/bargains/${chain.id}`, { token: h.token('stranger') });
      expect(seen.status).toBe(200);
      expect(seen.body).toMatchObject({ status: 'completed', price: 2_000, helperCount: 3 });
      expect(seen.body.helpers).toEqual([
        { displayName: '张**', cut: cuts[0], helpedAt: expect.any(String) },
        { cut: cuts[1], helpedAt: expect.any(String) },
        { cut: cuts[2], helpedAt: expect.any(String) },
      ]);
      expect(seen.text).not.toContain('helper-1');
      expect(seen.body.entitlementId).toBeUndefined();
      const own = await h.call('GET', `/v1/bargains/${chain.id}`, { token: h.token('init-a') });
      expect(own.body.helpers.map((x: { helperId: string }) => x.helperId)).toEqual([
        'helper-1',
        'helper-2',
        'helper-3',
      ]);
      expect(own.body.entitlementId).toMatch(/^ent_/);

      const events = await outboxEvents(h, chain.id);
      expect(events.map((e) => e.type)).toEqual([
        'BargainStarted',
        'BargainHelped',
        'BargainHelped',
        'BargainHelped',
        'BargainCompleted',
      ]);
      expect(events[4]!.detail).toMatchObject({
        initiatorId: 'init-a',
        sku: 'sku-bargain',
        price: 2_000,
        entitlementId: own.body.entitlementId,
      });
      expect(events[1]!.detail).toMatchObject({
        helperId: 'helper-1',
        cut: cuts[0],
        price: 10_000 - cuts[0]!,
        helperCount: 1,
      });
      // completing frees the slot: the initiator may start a new chain in the campaign
      expect(await h.deps.store.get(bargainLockKey(campaignId, 'init-a'))).toBeUndefined();
      const next = await h.call('POST', '/v1/bargains', { token: h.token('init-a'), body: { campaignId } });
      expect(next.status).toBe(201);
      expect(next.body.id).not.toBe(chain.id);
    });

    it('carries share attribution hints into BargainHelped', async () => {
      const chain = await startChain(h, campaignId, 'init-via');
      const r = await h.call('POST', `/v1/bargains/${chain.id}/helps`, {
        token: h.token('via-helper'),
        headers: { 'x-fission-ref': 'ref-token', 'x-fission-visitor': 'vid-1' },
      });
      expect(r.status).toBe(201);
      const helped = (await outboxEvents(h, chain.id)).find((e) => e.type === 'BargainHelped');
      expect(helped!.detail.via).toEqual({ visitorId: 'vid-1', ref: 'ref-token' });
    });

    it('refuses the initiator (403), a second help (409), unknown chains (404) and a body (400)', async () => {
      const chain = await startChain(h, campaignId, 'init-b');
      const self = await help(h, chain.id, 'init-b');
      expect([self.status, self.body.code]).toEqual([403, 'self_help_forbidden']);
      expect((await help(h, chain.id, 'twice')).status).toBe(201);
      const again = await help(h, chain.id, 'twice');
      expect([again.status, again.body.code]).toEqual([409, 'already_helped']);
      const missing = await help(h, 'brg_nope', 'twice');
      expect([missing.status, missing.body.code]).toEqual([404, 'not_found']);
      const body = await h.call('POST', `/v1/bargains/${chain.id}/helps`, {
        token: h.token('bodied'),
        body: { cut: 9999 },
      });
      expect([body.status, body.body.code]).toEqual([400, 'validation_failed']);
      const empty = await h.call('POST', `/v1/bargains/${chain.id}/helps`, { token: h.token('empty-body'), body: {} });
      expect(empty.status).toBe(201);
      const anon = await h.call('POST', `/v1/bargains/${chain.id}/helps`);
      expect([anon.status, anon.body.code]).toEqual([401, 'unauthorized']);
      const finance = await h.call('POST', `/v1/bargains/${chain.id}/helps`, { token: h.token('f-1', ['finance']) });
      expect([finance.status, finance.body.code]).toEqual([403, 'forbidden']);
      const stored = (await h.deps.store.get(bargainKey(chain.id))) as { helperCount: number };
      expect(stored.helperCount).toBe(2);
    });

    it('reads an unknown chain as 404 and needs a token to read', async () => {
      const missing = await h.call('GET', '/v1/bargains/brg_nope', { token: h.token('x') });
      expect([missing.status, missing.body.code]).toEqual([404, 'not_found']);
      const anon = await h.call('GET', '/v1/bargains/brg_nope');
      expect([anon.status, anon.body.code]).toEqual([401, 'unauthorized']);
    });

    it('holds maxHelpsPerUserPerDay across chains within a UTC day, and resets at midnight', async () => {
      const limited = await createBargainCampaign(h, { maxHelpsPerUserPerDay: 2 });
      const chains = await Promise.all(['d-1', 'd-2', 'd-3'].map((u) => startChain(h, limited, u)));
      expect((await help(h, chains[0]!.id, 'daily')).status).toBe(201);
      expect((await help(h, chains[1]!.id, 'daily')).status).toBe(201);
      const over = await help(h, chains[2]!.id, 'daily');
      expect([over.status, over.body.code]).toEqual([429, 'daily_help_limit']);
      expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
      const saved = clock.now();
      clock.set(`${new Date(saved + 86_400_000).toISOString().slice(0, 10)}T00:00:01.000Z`);
      try {
        const later = await startChain(h, limited, 'd-4');
        expect((await help(h, later.id, 'daily')).status).toBe(201);
      } finally {
        clock.set(saved);
      }
    });

    it('stops helps on a paused campaign with 409 campaign_inactive at once', async () => {
      const c = await createBargainCampaign(h);
      const chain = await startChain(h, c, 'init-p');
      expect((await help(h, chain.id, 'p-helper-0')).status).toBe(201);
      await h.call('PATCH', `/v1/admin/campaigns/${c}`, {
        token: h.token('admin-1', ['admin']),
        body: { status: 'paused' },
      });
      const r = await help(h, chain.id, 'p-helper');
      expect([r.status, r.body.code]).toEqual([409, 'campaign_inactive']);
    });
  });

  describe('expiry', () => {
    it('reads expired at once past expiresAt, refuses helps with 410, and the sweeper emits BargainExpired once', async () => {
      const c = await createBargainCampaign(h, { durationSeconds: 60 });
      const chain = await startChain(h, c, 'init-e');
      expect((await help(h, chain.id, 'e-helper')).status).toBe(201);
      const saved = clock.now();
      clock.set(Date.parse(chain.expiresAt));
      try {
        const read = await h.call('GET', `/v1/bargains/${chain.id}`, { token: h.token('x') });
        expect(read.body.status).toBe('expired');
        const late = await help(h, chain.id, 'late-helper');
        expect([late.status, late.body.code]).toEqual([410, 'bargain_expired']);
        const buy = await h.call('POST', `/v1/bargains/${chain.id}/purchase`, { token: h.token('init-e') });
        expect([buy.status, buy.body.code]).toEqual([409, 'bargain_not_purchasable']);
        await Promise.all([h.sweep(), h.sweep(), h.sweep()]);
        await h.sweep();
        const expired = (await outboxEvents(h, chain.id)).filter((e) => e.type === 'BargainExpired');
        expect(expired).toHaveLength(1);
        expect(expired[0]!.detail).toMatchObject({ initiatorId: 'init-e', helperCount: 1, price: read.body.price });
        const stored = (await h.deps.store.get(bargainKey(chain.id))) as Record<string, unknown>;
        expect(stored.status).toBe('expired');
        expect(await h.deps.store.get(bargainDueKey(chain.id))).toBeUndefined();
        expect(await h.deps.store.get(bargainLockKey(c, 'init-e'))).toBeUndefined();
        const fresh = await h.call('POST', '/v1/bargains', { token: h.token('init-e'), body: { campaignId: c } });
        expect(fresh.status).toBe(201);
      } finally {
        clock.set(saved);
      }
    });

    it('answers 409 campaign_inactive to a help once the campaign’s endsAt has passed, which ended its chain too', async () => {
      const endsAt = new Date(clock.now() + 120_000).toISOString();
      const c = await h.call('POST', '/v1/admin/campaigns', {
        token: h.token('admin-1', ['admin']),
        body: { type: 'bargain', title: 'Ends soon', endsAt, rules: baseRules },
      });
      const chain = await startChain(h, c.body.id, 'init-ends');
      expect(chain.expiresAt).toBe(endsAt);
      const saved = clock.now();
      clock.set(Date.parse(endsAt) + 1000);
      try {
        const late = await help(h, chain.id, 'after-the-end');
        expect([late.status, late.body.code]).toEqual([409, 'campaign_inactive']);
      } finally {
        clock.set(saved);
      }
    });

    it('lets the initiator start a new chain once the old one is past expiresAt, before any sweep', async () => {
      const c = await createBargainCampaign(h, { durationSeconds: 30 });
      const old = await startChain(h, c, 'init-f');
      const saved = clock.now();
      clock.advance(31);
      try {
        const r = await h.call('POST', '/v1/bargains', { token: h.token('init-f'), body: { campaignId: c } });
        expect(r.status).toBe(201);
        expect(r.body.id).not.toBe(old.id);
        await h.sweep();
        const lock = (await h.deps.store.get(bargainLockKey(c, 'init-f'))) as { chainId: string };
        expect(lock.chainId).toBe(r.body.id);
      } finally {
        clock.set(saved);
      }
    });
  });

  describe('POST /v1/bargains/{id}/purchase', () => {
    it('buys a completed chain at the floor: 201, then 200 with the same entitlement; BargainPurchased once', async () => {
      const c = await createBargainCampaign(h, { helpersRequired: 1, originalPrice: 500, floorPrice: 100 });
      const chain = await startChain(h, c, 'buyer-1');
      const early = await h.call('POST', `/v1/bargains/${chain.id}/purchase`, { token: h.token('buyer-1') });
      expect([early.status, early.body.code]).toEqual([409, 'bargain_not_purchasable']);
      expect((await help(h, chain.id, 'b-helper')).body.status).toBe('completed');
      const other = await h.call('POST', `/v1/bargains/${chain.id}/purchase`, { token: h.token('b-helper') });
      expect([other.status, other.body.code]).toEqual([404, 'not_found']);
      const first = await h.call('POST', `/v1/bargains/${chain.id}/purchase`, { token: h.token('buyer-1') });
      expect(first.status).toBe(201);
      expect(first.body).toEqual({ entitlementId: expect.stringMatching(/^ent_/), price: 100, chainId: chain.id });
      const again = await h.call('POST', `/v1/bargains/${chain.id}/purchase`, { token: h.token('buyer-1'), body: {} });
      expect(again.status).toBe(200);
      expect(again.body).toEqual(first.body);
      const read = await h.call('GET', `/v1/bargains/${chain.id}`, { token: h.token('buyer-1') });
      expect(read.body.status).toBe('purchased');
      const closed = await help(h, chain.id, 'b-helper-2');
      expect([closed.status, closed.body.code]).toEqual([409, 'bargain_closed']);
      const events = await outboxEvents(h, chain.id);
      const purchased = events.filter((e) => e.type === 'BargainPurchased');
      expect(purchased).toHaveLength(1);
      expect(purchased[0]!.detail).toMatchObject({
        initiatorId: 'buyer-1',
        sku: 'sku-bargain',
        price: 100,
        entitlementId: first.body.entitlementId,
      });
      expect(events.find((e) => e.type === 'BargainCompleted')!.detail.entitlementId).toBe(first.body.entitlementId);
    });

    it('buys an active chain at its current price when allowBuyAtCurrentPrice', async () => {
      const c = await createBargainCampaign(h, { allowBuyAtCurrentPrice: true });
      const chain = await startChain(h, c, 'buyer-2');
      const cut = (await help(h, chain.id, 'c-helper')).body.cut as number;
      const r = await h.call('POST', `/v1/bargains/${chain.id}/purchase`, { token: h.token('buyer-2') });
      expect(r.status).toBe(201);
      expect(r.body.price).toBe(10_000 - cut);
      const late = await help(h, chain.id, 'c-helper-2');
      expect([late.status, late.body.code]).toEqual([409, 'bargain_closed']);
      expect(await h.deps.store.get(bargainLockKey(c, 'buyer-2'))).toBeUndefined();
    });

    it('refuses a body (400), no token (401), unknown chains (404)', async () => {
      const chain = await startChain(h, campaignId, 'buyer-3');
      const body = await h.call('POST', `/v1/bargains/${chain.id}/purchase`, {
        token: h.token('buyer-3'),
        body: { price: 1 },
      });
      expect([body.status, body.body.code]).toEqual([400, 'validation_failed']);
      const anon = await h.call('POST', `/v1/bargains/${chain.id}/purchase`);
      expect([anon.status, anon.body.code]).toEqual([401, 'unauthorized']);
      const missing = await h.call('POST', '/v1/bargains/brg_nope/purchase', { token: h.token('buyer-3') });
      expect([missing.status, missing.body.code]).toEqual([404, 'not_found']);
    });
  });

  describe('stock and new users', () => {
    it('never completes or sells more chains than the stock', async () => {
      const c = await createBargainCampaign(h, { helpersRequired: 1, stock: 2, allowBuyAtCurrentPrice: true });
      const chains = await Promise.all(['s-1', 's-2', 's-3', 's-4'].map((u) => startChain(h, c, u)));
      const helps = await Promise.all(chains.map((ch, i) => help(h, ch.id, `s-helper-${i}`)));
      expect(helps.filter((r) => r.status === 201)).toHaveLength(2);
      expect(
        helps
          .filter((r) => r.status === 409)
          .every((r) => r.body.code === 'conflict' && /stock is used up/.test(r.body.detail)),
      ).toBe(true);
      const idle = chains.filter((_, i) => helps[i]!.status !== 201);
      const buys = await Promise.all(
        idle.map((ch) =>
          h.call('POST', `/v1/bargains/${ch.id}/purchase`, { token: h.token(ch.initiatorId as string) }),
        ),
      );
      expect(buys.map((b) => b.body.code)).toEqual(['bargain_not_purchasable', 'bargain_not_purchasable']);
      const more = await h.call('POST', '/v1/bargains', { token: h.token('s-5'), body: { campaignId: c } });
      expect([more.status, more.body.code, more.body.detail]).toEqual([
        409,
        'conflict',
        "The campaign's stock is used up.",
      ]);
    });

    it('starts no chain on a stock of 0', async () => {
      const c = await createBargainCampaign(h, { helpersRequired: 1, stock: 0 });
      const start = await h.call('POST', '/v1/bargains', { token: h.token('z-1'), body: { campaignId: c } });
      expect([start.status, start.body.code, start.body.detail]).toEqual([
        409,
        'conflict',
        "The campaign's stock is used up.",
      ]);
      expect(await h.deps.store.get(bargainLockKey(c, 'z-1'))).toBeUndefined();
    });

    it('gives a never-seen helper a larger cut (up to 2×) when newUserBonus, keeping the sum rule', async () => {
      const rules = { helpersRequired: 4, originalPrice: 100_000, floorPrice: 0 };
      const plain = await createBargainCampaign(h, rules);
      const bonus = await createBargainCampaign(h, { ...rules, newUserBonus: true });
      // veteran has been seen (helped once before); newbie never has
      const warmup = await startChain(h, plain, 'warm-init');
      expect((await help(h, warmup.id, 'veteran')).status).toBe(201);
      const a = await startChain(h, bonus, 'bonus-init-a');
      const b = await startChain(h, bonus, 'bonus-init-b');
      const vet = await help(h, a.id, 'veteran');
      const newbie = await help(h, b.id, 'newbie');
      const scheduleA = ((await h.deps.store.get(bargainScheduleKey(a.id))) as { schedule: number[] }).schedule;
      const scheduleB = ((await h.deps.store.get(bargainScheduleKey(b.id))) as { schedule: number[] }).schedule;
      expect(vet.body.cut).toBe(scheduleA[0]);
      expect(newbie.body.cut).toBeGreaterThan(scheduleB[0]!);
      expect(newbie.body.cut).toBeLessThanOrEqual(2 * scheduleB[0]!);
      let price = newbie.body.price as number;
      for (const u of ['b-2', 'b-3', 'b-4']) {
        const r = await help(h, b.id, u);
        expect(r.body.cut).toBeGreaterThanOrEqual(1);
        price = r.body.price;
      }
      expect(price).toBe(0);
      const read = await h.call('GET', `/v1/bargains/${b.id}`, { token: h.token('x') });
      expect(read.body.helpers.reduce((s: number, x: { cut: number }) => s + x.cut, 0)).toBe(100_000);
    });
  });

  it('documents the bargain rules in the OpenAPI spec', async () => {
    const r = await h.call('GET', '/openapi.json');
    const text = JSON.stringify(r.body.paths['/v1/bargains/{id}/helps']);
    expect(text).toContain('H_n');
    expect(text).toContain('new');
    expect(JSON.stringify(r.body.paths['/v1/bargains'])).toContain('stock is used up');
    expect(baseRules.helpersRequired).toBe(3);
  });
});
