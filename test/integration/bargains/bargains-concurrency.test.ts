import { beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '#shared/clock';
import { bargainDueKey, bargainHelpPrefix, bargainKey, bargainUserKey } from '#shared/store/keys';
import { createHarness, type Harness } from '../../support/harness.ts';
import { createBargainCampaign, help, outboxEvents, startChain } from './support.ts';

/** A clock that, while `width` > 0, answers a random time within ±width ms of `center`: racers see either side of a deadline. */
class WobblyClock implements Clock {
  center = Date.parse('2026-11-24T10:00:00.000Z');
  width = 0;
  now(): number {
    return this.center + Math.round((Math.random() * 2 - 1) * this.width);
  }
}

const helpItems = async (h: Harness, chainId: string) =>
  (await h.deps.store.queryAll({
    pk: bargainKey(chainId).pk,
    sk: { beginsWith: bargainHelpPrefix },
    consistent: true,
  })) as {
    helperId: string;
    cut: number;
  }[];

describe('Bargains under concurrency (DynamoDB Local)', () => {
  let h: Harness;
  let clock: WobblyClock;
  beforeAll(async () => {
    clock = new WobblyClock();
    h = await createHarness({ clock });
  });

  it('200 users helping a chain that needs 50 at once: exactly 50 land, the rest get bargain_closed, price == floor', async () => {
    const c = await createBargainCampaign(h, { helpersRequired: 50, originalPrice: 100_000, floorPrice: 10_000 });
    const chain = await startChain(h, c, 'viral-init');
    const rs = await Promise.all(Array.from({ length: 200 }, (_, i) => help(h, chain.id, `viral-${i}`, `User${i}`)));
    expect(rs.filter((r) => r.status >= 500)).toEqual([]);
    const ok = rs.filter((r) => r.status === 201);
    expect(ok).toHaveLength(50);
    const refused = rs.filter((r) => r.status !== 201);
    expect(refused.every((r) => r.status === 409 && r.body.code === 'bargain_closed')).toBe(true);
    expect(ok.map((r) => r.body.helperCount).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    expect(ok.filter((r) => r.body.status === 'completed')).toHaveLength(1);

    const stored = (await h.deps.store.get(bargainKey(chain.id), true)) as Record<string, any>;
    expect(stored).toMatchObject({ status: 'completed', price: 10_000, helperCount: 50 });
    const helps = await helpItems(h, chain.id);
    expect(helps).toHaveLength(50);
    expect(helps.reduce((s, x) => s + x.cut, 0)).toBe(100_000 - 10_000);
    expect(helps.every((x) => x.cut >= 1)).toBe(true);
    const events = await outboxEvents(h, chain.id);
    expect(events.filter((e) => e.type === 'BargainHelped')).toHaveLength(50);
    expect(events.filter((e) => e.type === 'BargainCompleted')).toHaveLength(1);
  }, 120_000);

  it('one user sending 5 helps to one chain at once: exactly one lands', async () => {
    const c = await createBargainCampaign(h, { helpersRequired: 3 });
    const chain = await startChain(h, c, 'twin-init');
    const rs = await Promise.all(Array.from({ length: 5 }, () => help(h, chain.id, 'eager')));
    expect(rs.filter((r) => r.status === 201)).toHaveLength(1);
    expect(rs.filter((r) => r.status !== 201).map((r) => r.body.code)).toEqual(Array(4).fill('already_helped'));
    const stored = (await h.deps.store.get(bargainKey(chain.id), true)) as Record<string, any>;
    expect(stored.helperCount).toBe(1);
    expect(await helpItems(h, chain.id)).toHaveLength(1);
    const record = (await h.deps.store.get(bargainUserKey('eager'), true)) as Record<string, unknown>;
    expect(record['helps-2026-11-24']).toBe(1);
  });

  it('a user near, then at, the daily limit helping 10 chains at once: the limit holds exactly', async () => {
    const c = await createBargainCampaign(h, { helpersRequired: 5, maxHelpsPerUserPerDay: 5 });
    const chains = await Promise.all(Array.from({ length: 23 }, (_, i) => startChain(h, c, `limit-init-${i}`)));
    for (const ch of chains.slice(0, 3)) expect((await help(h, ch.id, 'busy')).status).toBe(201);
    const wave = await Promise.all(chains.slice(3, 13).map((ch) => help(h, ch.id, 'busy')));
    expect(wave.filter((r) => r.status === 201)).toHaveLength(2);
    expect(
      wave.filter((r) => r.status !== 201).every((r) => r.status === 429 && r.body.code === 'daily_help_limit'),
    ).toBe(true);
    const atLimit = await Promise.all(chains.slice(13, 23).map((ch) => help(h, ch.id, 'busy')));
    expect(atLimit.filter((r) => r.status === 201)).toHaveLength(0);
    expect(atLimit.every((r) => r.status === 429)).toBe(true);
    const record = (await h.deps.store.get(bargainUserKey('busy'), true)) as Record<string, unknown>;
    expect(record['helps-2026-11-24']).toBe(5);
    const landed = (await Promise.all(chains.map((ch) => helpItems(h, ch.id))))
      .flat()
      .filter((x) => x.helperId === 'busy');
    expect(landed).toHaveLength(5);
  });

  it('the initiator buying while helps keep landing: the purchase follows the chain until it lands, at the price the cuts left', async () => {
    const c = await createBargainCampaign(h, {
      helpersRequired: 30,
      originalPrice: 10_000,
      floorPrice: 100,
      allowBuyAtCurrentPrice: true,
    });
    const chain = await startChain(h, c, 'busy-buyer');
    // Before each of the purchase's first 15 writes, a help lands: each write finds the chain moved.
    const { store } = h.deps;
    const transact = store.transact.bind(store);
    let landed = 0;
    store.transact = async (items) => {
      const buys = items.some((i) => 'Update' in i && i.Update.UpdateExpression?.includes(':purchased'));
      if (buys && landed < 15) expect((await help(h, chain.id, `busy-helper-${++landed}`)).status).toBe(201);
      return transact(items);
    };
    let bought: Awaited<ReturnType<typeof h.call>>;
    try {
      bought = await h.call('POST', `/v1/bargains/${chain.id}/purchase`, { token: h.token('busy-buyer') });
    } finally {
      store.transact = transact;
    }
    expect([bought.status, bought.body.code, landed]).toEqual([201, undefined, 15]);
    const stored = (await h.deps.store.get(bargainKey(chain.id), true)) as Record<string, any>;
    expect([stored.status, stored.helperCount]).toEqual(['purchased', 15]);
    const cuts = await helpItems(h, chain.id);
    expect(bought.body.price).toBe(10_000 - cuts.reduce((s, x) => s + x.cut, 0));
  });

  it('help, purchase and expiry racing on one chain: exactly one final state, and the events agree with it', async () => {
    const c = await createBargainCampaign(h, { helpersRequired: 2, allowBuyAtCurrentPrice: true, durationSeconds: 60 });
    const start = clock.center;
    const chains = [];
    for (let i = 0; i < 16; i++) {
      const ch = await startChain(h, c, `race-init-${i}`);
      expect((await help(h, ch.id, `race-first-${i}`)).status).toBe(201);
      chains.push(ch);
    }
    const outcomes: Record<string, number> = {};
    try {
      clock.center = Date.parse(chains[0]!.expiresAt);
      clock.width = 40;
      await Promise.all(
        chains.map(async (ch, i) => {
          const rs = await Promise.all([
            help(h, ch.id, `race-last-${i}`),
            h.call('POST', `/v1/bargains/${ch.id}/purchase`, { token: h.token(`race-init-${i}`) }),
            h.sweep(),
            h.sweep(),
          ]);
          for (const r of rs.slice(0, 2) as { status: number }[]) expect(r.status).toBeLessThan(500);
        }),
      );
      clock.width = 0;
      clock.center += 120_000;
      await h.sweep();
    } finally {
      clock.width = 0;
      clock.center = start;
    }
    for (const ch of chains) {
      const stored = (await h.deps.store.get(bargainKey(ch.id), true)) as Record<string, any>;
      const events = await outboxEvents(h, ch.id);
      const count = (t: string) => events.filter((e) => e.type === t).length;
      outcomes[stored.status] = (outcomes[stored.status] ?? 0) + 1;
      expect(['completed', 'purchased', 'expired']).toContain(stored.status);
      expect(count('BargainHelped')).toBe(stored.helperCount);
      expect((await helpItems(h, ch.id)).length).toBe(stored.helperCount);
      expect(count('BargainCompleted')).toBe(stored.helperCount === 2 ? 1 : 0);
      if (stored.status === 'expired') {
        expect([count('BargainExpired'), count('BargainPurchased')]).toEqual([1, 0]);
        const ev = events.find((e) => e.type === 'BargainExpired')!.detail;
        expect([ev.price, ev.helperCount]).toEqual([stored.price, stored.helperCount]);
        expect(stored.helperCount).toBe(1);
      } else if (stored.status === 'purchased') {
        expect([count('BargainExpired'), count('BargainPurchased')]).toEqual([0, 1]);
        expect(events.find((e) => e.type === 'BargainPurchased')!.detail.price).toBe(stored.price);
      } else {
        expect([count('BargainExpired'), count('BargainPurchased')]).toEqual([0, 0]);
        expect(stored.price).toBe(stored.floorPrice);
      }
      expect(await h.deps.store.get(bargainDueKey(ch.id), true)).toBeUndefined();
    }
    expect(Object.values(outcomes).reduce((a, b) => a + b, 0)).toBe(16);
  });
});
