import { beforeAll, describe, expect, it } from 'vitest';
import { createPayout } from '#shared/domain/ledger/create-payout';
import { newEntriesTx } from '#shared/domain/ledger/settlement';
import { listAllPayeeEntries } from '#shared/store/ledger';
import type { Store } from '#shared/store/store';
import { deferred } from '../../support/deferred.ts';
import { createHarness, type Harness, ManualClock } from '../../support/harness.ts';
import { availableEntries } from './events.ts';

/** A store whose `n`th payout move of the payee waits for `gate` (after saying so on `reached`). */
function pausing(store: Store, n: number, payee: string) {
  const gate = deferred();
  const reached = deferred();
  const closing = deferred();
  const closeGate = deferred();
  let moves = 0;
  const s = Object.create(store) as Store;
  s.transact = async (items) => {
    if (JSON.stringify(items).includes(`ITEMPAGE#${payee}#`) && ++moves === n) {
      reached.resolve();
      await gate.promise;
    }
    return store.transact(items);
  };
  s.update = (async (input: any) => {
    if (JSON.stringify(input).includes('closing')) {
      closing.resolve();
      await closeGate.promise;
    }
    return store.update(input);
  }) as Store['update'];
  return { s, gate, reached, closing, closeGate };
}

describe('Payouts: a claim let go by one mover of a payout while another still moves the payee', () => {
  let h: Harness;
  let clock: ManualClock;
  beforeAll(async () => {
    clock = new ManualClock();
    h = await createHarness({ clock });
  });

  it('keeps a payee of three moves in one payout when its request is retried while the first still runs', async () => {
    // Prepare: 91 available entries of 1 fen (moves of 45, 45 and 1).
    const entries = availableEntries('kol-race', 91, 'inv-race', new Date(clock.now()).toISOString());
    await h.deps.store.transact(newEntriesTx(entries.slice(0, 45)));
    await h.deps.store.transact(newEntriesTx(entries.slice(45, 90)));
    await h.deps.store.transact(newEntriesTx(entries.slice(90)));
    const input = { asset: 'cash' as const, minAmount: 1 };
    const request = { caller: 'user:fin-1', key: 'K-race' };

    // Act: the request moves the first 45 and is slow before its second move; its retry (same key)
    // moves the next 45 and is slow before the last; the first's second move finds its entries taken.
    const m1 = pausing(h.deps.store, 2, 'kol-race');
    const first = createPayout({ ...h.deps, store: m1.s }, input, { request });
    await m1.reached.promise;
    const m2 = pausing(h.deps.store, 2, 'kol-race');
    const retry = createPayout({ ...h.deps, store: m2.s }, input, { request });
    await m2.reached.promise;
    m1.gate.resolve();
    await m1.closing.promise;
    // Meanwhile another payout is created (payout A is still being created, moving kol-race).
    const other = await createPayout(h.deps, input);
    // The retry's last move lands before the first closes the payout (closed first, the move would
    // be refused and its entry left to the next payout: a payee split, its money still paid once).
    m2.gate.resolve();
    await m2.closing.promise;
    m1.closeGate.resolve();
    m2.closeGate.resolve();
    const a = await retry;
    await first;

    // Assess: the payee is in one payout whole (the claim's purpose, finance-api.test.ts), not split.
    const payouts = new Set((await listAllPayeeEntries(h.deps.store, 'kol-race')).map((e) => e.payoutId));
    expect({ other: other.items, payouts: [...payouts] }).toEqual({ other: [], payouts: [a.id] });
  }, 60_000);

  it('answers items that add up to its total, the same as its retry answers', async () => {
    // Prepare: 91 available entries of 1 fen (moves of 45, 45 and 1).
    const entries = availableEntries('kol-ans', 91, 'inv-ans', new Date(clock.now()).toISOString());
    await h.deps.store.transact(newEntriesTx(entries.slice(0, 45)));
    await h.deps.store.transact(newEntriesTx(entries.slice(45, 90)));
    await h.deps.store.transact(newEntriesTx(entries.slice(90)));
    const input = { asset: 'cash' as const, minAmount: 1 };
    const request = { caller: 'user:fin-1', key: 'K-ans' };

    // Act: the request moves the first 45 and is slow before its second move; its retry (same key)
    // moves the other 46; the first's second move finds its entries taken, and the first ends the payout.
    const m1 = pausing(h.deps.store, 2, 'kol-ans');
    const first = createPayout({ ...h.deps, store: m1.s }, input, { request });
    await m1.reached.promise;
    const m2 = pausing(h.deps.store, 99, 'kol-ans');
    const retry = createPayout({ ...h.deps, store: m2.s }, input, { request });
    await m2.closing.promise;
    m1.gate.resolve();
    await m1.closing.promise;
    m1.closeGate.resolve();
    const a = await first;
    m2.closeGate.resolve();
    const b = await retry;

    // Assess: API.md — 201 { id, status, items: [{ payeeId, amount }], total }: one payout, one answer.
    const sum = (p: typeof a) => p.items.reduce((s, i) => s + i.amount, 0);
    expect({ id: a.id, items: a.items, total: a.total, sum: sum(a) }).toEqual({
      id: b.id,
      items: b.items,
      total: b.total,
      sum: b.total,
    });
  }, 60_000);
});

describe('Payouts: totals past exact arithmetic', () => {
  it('keeps every line and every payout total an exact integer: a payee that would pass it waits, nothing is left half-made', async () => {
    const h = await createHarness({ clock: new ManualClock() });
    const at = new Date(h.clock.now()).toISOString();
    const big = (payee: string, n: number) =>
      availableEntries(payee, n, `big-${payee}`, at).map((e) => ({ ...e, amount: 5_000_000_000_000_000 }));
    await h.deps.store.transact(newEntriesTx(big('big-a', 1)));
    await h.deps.store.transact(newEntriesTx(big('big-b', 1)));
    for (const e of big('big-c', 2)) await h.deps.store.transact(newEntriesTx([e])); // 10^16: past 2^53 on its own
    const input = { asset: 'cash' as const, minAmount: 1 };

    const first = await createPayout(h.deps, input);
    expect(first.status).toBe('pending');
    expect(first.items).toHaveLength(1);
    expect(first.total).toBe(5_000_000_000_000_000);
    const second = await createPayout(h.deps, input);
    expect([second.status, second.items.length, second.total]).toEqual(['pending', 1, 5_000_000_000_000_000]);
    expect(new Set([...first.items, ...second.items].map((i) => i.payeeId))).toEqual(new Set(['big-a', 'big-b']));
    const third = await createPayout(h.deps, input);
    expect([third.status, third.items]).toEqual(['pending', []]);
    expect((await listAllPayeeEntries(h.deps.store, 'big-c')).map((e) => e.state)).toEqual(['available', 'available']);
  });
});
