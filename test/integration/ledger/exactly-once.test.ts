import { beforeAll, describe, expect, it } from 'vitest';
import type { Deps } from '#shared/deps';
import { reversalIdFor } from '#shared/domain/ledger/apply-reversals';
import { reconcileLedger } from '#shared/domain/ledger/reconcile';
import { entryIdFor } from '#shared/domain/ledger/rules';
import { rules } from '#shared/events/rules';
import type { BusEvent } from '#shared/events/schemas';
import { findBalances, findEntries } from '#shared/store/ledger';
import type { Store } from '#shared/store/store';
import { createHarness, type Harness, ManualClock } from '../../support/harness.ts';
import { deliver, inviteQualified, orderAttributed, orderRefunded } from './events.ts';

/** A small seeded PRNG so a failing run can be repeated. */
function prng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** A store whose transactions sometimes fail AFTER committing (the answer is lost), like a Lambda timing out. */
function lossyStore(store: Store, rate: number, rand: () => number) {
  const stats = { lost: 0 };
  const lossy = Object.create(store) as Store;
  lossy.transact = async (items) => {
    await store.transact(items);
    if (rand() < rate) {
      stats.lost++;
      throw new Error('connection reset after commit');
    }
  };
  return { store: lossy, stats };
}

async function pool<T>(items: T[], n: number, fn: (x: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

describe('Ledger: exactly once in effect under redelivery, reordering and lost answers', () => {
  let h: Harness;
  let clock: ManualClock;
  const events: BusEvent[] = [];
  const expected = new Map<string, number>();

  beforeAll(async () => {
    clock = new ManualClock();
    h = await createHarness({ clock });
    for (let i = 0; i < 500; i++) {
      const kolId = `kol-${i % 100}`;
      events.push(
        orderAttributed(clock, { orderId: `ord-${i}`, kolId, commission: 1000 + i, lockSeconds: i % 2 ? 3600 : 0 }),
      );
      expected.set(entryIdFor('order', `ord-${i}`, kolId, 'commission'), 1000 + i);
      if (i % 5 < 2) {
        events.push(
          orderRefunded(clock, { orderId: `ord-${i}`, refundId: `ref-${i}`, kolId, reversal: 100 + (i % 7) }),
        );
        expected.set(reversalIdFor(`ord-${i}`, `ref-${i}`, kolId), -(100 + (i % 7)));
      }
    }
    for (let i = 0; i < 300; i++) {
      const inviterId = `inviter-${i % 150}`;
      const inviteeId = `invitee-${i}`;
      events.push(inviteQualified(clock, { inviteId: `inv-${i}`, inviterId, inviteeId, inviter: 300, invitee: 100 }));
      expected.set(entryIdFor('invite', `inv-${i}`, inviterId, 'invite_inviter'), 300);
      expected.set(entryIdFor('invite', `inv-${i}`, inviteeId, 'invite_invitee'), 100);
    }
  });

  it('1,000 events delivered 3 times each, shuffled, 10% of answers lost after commit → exactly 1,000 effects', async () => {
    expect(events).toHaveLength(1000);
    const rand = prng(42);
    const deliveries = events.flatMap((e) => [e, e, e]);
    for (let i = deliveries.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [deliveries[i], deliveries[j]] = [deliveries[j]!, deliveries[i]!];
    }
    const { store, stats } = lossyStore(h.deps.store, 0.1, rand);
    const lossy: Deps = { ...h.deps, store };
    let failed = 0;
    const started = Date.now();
    await pool(deliveries, 4, async (e) => {
      for (let attempt = 1; ; attempt++) {
        try {
          await deliver(lossy, e);
          return;
        } catch (err) {
          failed++;
          if (attempt >= 20) throw err;
        }
      }
    });
    console.log(`3,000 deliveries in ${Date.now() - started} ms; ${stats.lost} answers lost after commit`);
    expect(stats.lost).toBeGreaterThan(100);
    expect(failed).toBeGreaterThanOrEqual(stats.lost);

    const ids = [...expected.keys()];
    const entries = await findEntries(h.deps.store, ids);
    expect(entries).toHaveLength(ids.length);
    for (const e of entries) expect(e.amount).toBe(expected.get(e.id));
    const causes = new Set(entries.map((e) => `${e.cause.type}:${e.cause.id}`));
    expect(causes.size).toBe(1000 - 300 + 300);

    clock.advance(3601);
    while ((await h.sweep()) > 0);
    const rec = await reconcileLedger(h.deps, {});
    expect(rec.checks.filter((c) => !c.ok)).toEqual([]);
    expect(rec.totals.entries).toBe(ids.length);
    const kol = await findBalances(h.deps.store, 'kol-0');
    const kolEntries = entries.filter((e) => e.payeeId === 'kol-0');
    expect(kol[0]!.available).toBe(kolEntries.reduce((s, e) => s + e.amount, 0));
    expect(kol[0]!.locked).toBe(0);
  }, 300_000);

  it('an archive replay of every event through the bus writes no new entry and moves no balance', async () => {
    const before = await reconcileLedger(h.deps, {});
    const ledgerRules = rules.filter((r) => r.consumer.startsWith('ledger-'));
    await pool(events, 8, async (e) => {
      for (const rule of ledgerRules)
        if ((rule.detailTypes as string[]).includes(e['detail-type'])) await h.bus.deliver(rule.consumer, e);
    });
    const after = await reconcileLedger(h.deps, {});
    expect(after.totals).toEqual(before.totals);
    expect(after.ok).toBe(true);
    expect(h.bus.stats.deadLettered).toBe(0);
  }, 300_000);
});
