import { beforeAll, describe, expect, it, vi } from 'vitest';
import { finishAbandonedPayouts } from '#functions/finance/payout-finish';
import { sweepTasks } from '#functions/sweeper/tasks';
import { createPayout, PAYOUT_FINISH_AFTER_MS } from '#shared/domain/ledger/create-payout';
import { StaleReadError } from '#shared/domain/ledger/errors';
import { releaseHold } from '#shared/domain/ledger/release-hold';
import { entryIdFor } from '#shared/domain/ledger/rules';
import { newEntriesTx } from '#shared/domain/ledger/settlement';
import { mapLimit } from '#shared/map-limit';
import { ledgerBalanceKey } from '#shared/store/keys';
import { findPayout, listAllPayeeEntries, listPayoutItems } from '#shared/store/ledger';
import type { Store } from '#shared/store/store';
import { sweepOnce } from '#shared/sweeper';
import { deferred } from '../../support/deferred.ts';
import { createHarness, type Harness, ManualClock } from '../../support/harness.ts';
import {
  availableEntries,
  balanceOf,
  commissionId,
  deliver,
  findEntry,
  inviteQualified,
  orderAttributed,
  orderRefunded,
  reversalId,
} from './events.ts';

const problem = (r: { status: number; body: any }) => [r.status, r.body?.code];

/**
 * A store whose payout creator dies after `moves` transactions that name `payees` (a prefix of
 * their ids): every later transaction throws. `written` holds the writes already under way.
 */
function dyingAfter(store: Store, moves: number, payees: string) {
  let moved = 0;
  const written: Promise<void>[] = [];
  const dying = Object.create(store) as Store;
  dying.transact = async (items) => {
    if (moved >= moves) throw new Error('the creator stopped');
    if (JSON.stringify(items).includes(payees)) moved++;
    const write = store.transact(items);
    written.push(write);
    return write;
  };
  return { dying, written };
}

describe('Finance API: payouts', () => {
  let h: Harness;
  let clock: ManualClock;
  let fin: string;
  beforeAll(async () => {
    clock = new ManualClock();
    h = await createHarness({ clock });
    fin = h.token('fin-1', ['finance']);
  });

  it('pays out available balances, confirms them paid, and answers a repeat confirmation the same', async () => {
    await deliver(h.deps, orderAttributed(clock, { orderId: 'o1', kolId: 'kol-a', commission: 700 }));
    await deliver(
      h.deps,
      orderAttributed(clock, { orderId: 'o2', kolId: 'kol-a', commission: 300, lockSeconds: 3600 }),
    );
    await deliver(h.deps, orderAttributed(clock, { orderId: 'o3', kolId: 'kol-small', commission: 50 }));
    const p = await h.call('POST', '/v1/finance/payouts', { token: fin, body: { asset: 'cash' } });
    expect(p.status).toBe(201);
    expect(p.body).toMatchObject({ status: 'pending', items: [{ payeeId: 'kol-a', amount: 700 }], total: 700 });
    expect(p.body.id).toMatch(/^pay_/);
    expect(await balanceOf(h.deps, 'kol-a')).toMatchObject({ locked: 300, available: 0, inPayout: 700 });
    expect(await findEntry(h.deps.store, commissionId('o1', 'kol-a'))).toMatchObject({
      state: 'in_payout',
      payoutId: p.body.id,
    });

    const c = await h.call('POST', `/v1/finance/payouts/${p.body.id}/confirm`, {
      token: fin,
      body: { reference: 'BANK-1' },
    });
    expect(c.status).toBe(200);
    expect(c.body).toMatchObject({ status: 'confirmed', reference: 'BANK-1', total: 700 });
    const read = await h.call('GET', `/v1/finance/payouts/${p.body.id}`, { token: fin });
    expect([read.status, read.body]).toEqual([200, c.body]);
    expect(problem(await h.call('GET', '/v1/finance/payouts/pay_none', { token: fin }))).toEqual([404, 'not_found']);
    expect(
      problem(await h.call('GET', `/v1/finance/payouts/${p.body.id}`, { token: h.token('kol-a', ['user', 'kol']) })),
    ).toEqual([403, 'forbidden']);
    expect(await balanceOf(h.deps, 'kol-a')).toMatchObject({ inPayout: 0, paid: 700 });
    expect((await findEntry(h.deps.store, commissionId('o1', 'kol-a')))!.state).toBe('paid');
    const again = await h.call('POST', `/v1/finance/payouts/${p.body.id}/confirm`, {
      token: fin,
      body: { reference: 'BANK-1' },
    });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(c.body);
    const other = await h.call('POST', `/v1/finance/payouts/${p.body.id}/confirm`, {
      token: fin,
      body: { reference: 'X' },
    });
    expect(problem(other)).toEqual([409, 'conflict']);
    expect(
      problem(await h.call('POST', '/v1/finance/payouts/pay_nope/confirm', { token: fin, body: { reference: 'X' } })),
    ).toEqual([404, 'not_found']);
  });

  it('pays out and confirms a payee with 12,000 available entries, a line beyond what one item holds', async () => {
    // Prepare: 12,000 rewards of 1 fen for one payee, written as settlement writes them (45 per transaction).
    const at = new Date(clock.now()).toISOString();
    const entries = availableEntries('kol-big', 12_000, 'inv-big', at);
    const parts = Array.from({ length: entries.length / 45 + 1 }, (_, i) => entries.slice(i * 45, i * 45 + 45));
    await mapLimit(parts, (part) => h.deps.store.transact(newEntriesTx(part)), 4);

    // Act: pay the payee out, then confirm.
    const created = await h.call('POST', '/v1/finance/payouts', {
      token: fin,
      body: { asset: 'cash', minAmount: 12_000 },
    });
    const confirmed = await h.call('POST', `/v1/finance/payouts/${created.body.id}/confirm`, {
      token: fin,
      body: { reference: 'BANK-BIG' },
    });

    // Assess: one line of all 12,000 entries, each paid once.
    expect([created.status, created.body.items]).toEqual([201, [{ payeeId: 'kol-big', amount: 12_000 }]]);
    expect(confirmed.status).toBe(200);
    const [line] = await listPayoutItems(h.deps.store, created.body.id);
    expect([line!.status, new Set(line!.entryIds).size]).toEqual(['paid', 12_000]);
    expect(await balanceOf(h.deps, 'kol-big')).toMatchObject({ available: 0, inPayout: 0, paid: 12_000 });
  }, 300_000);

  it('leaves out payees below minAmount or below a commission campaign’s minPayout; nothing eligible → 201 empty', async () => {
    await deliver(h.deps, orderAttributed(clock, { orderId: 'o4', kolId: 'kol-min', commission: 150, minPayout: 200 }));
    const p = await h.call('POST', '/v1/finance/payouts', { token: fin, body: { asset: 'cash', minAmount: 100 } });
    expect(p.status).toBe(201);
    expect(p.body.items.map((i: any) => i.payeeId)).not.toContain('kol-min');
    const none = await h.call('POST', '/v1/finance/payouts', {
      token: fin,
      body: { asset: 'cash', minAmount: 1_000_000 },
    });
    expect(none.status).toBe(201);
    expect(none.body).toMatchObject({ items: [], total: 0, status: 'pending' });
    await deliver(h.deps, orderAttributed(clock, { orderId: 'o5', kolId: 'kol-min', commission: 60, minPayout: 100 }));
    const q = await h.call('POST', '/v1/finance/payouts', { token: fin, body: { asset: 'cash' } });
    expect(q.body.items).toContainEqual({ payeeId: 'kol-min', amount: 210 });
  });

  it('returns a failed line’s entries to available, and a later payout takes them', async () => {
    await deliver(h.deps, orderAttributed(clock, { orderId: 'o6', kolId: 'kol-f', commission: 400 }));
    const p = await h.call('POST', '/v1/finance/payouts', { token: fin, body: { asset: 'cash' } });
    expect(p.body.items).toContainEqual({ payeeId: 'kol-f', amount: 400 });
    const f = await h.call('POST', `/v1/finance/payouts/${p.body.id}/items/kol-f/fail`, {
      token: fin,
      body: { reason: 'account closed' },
    });
    expect(f.status).toBe(200);
    expect(f.body.items.find((i: any) => i.payeeId === 'kol-f')).toMatchObject({
      status: 'failed',
      reason: 'account closed',
    });
    expect(f.body.total).toBe(p.body.total - 400);
    expect(await balanceOf(h.deps, 'kol-f')).toMatchObject({ available: 400, inPayout: 0 });
    const repeat = await h.call('POST', `/v1/finance/payouts/${p.body.id}/items/kol-f/fail`, {
      token: fin,
      body: { reason: 'account closed' },
    });
    expect(repeat.status).toBe(200);
    expect(await balanceOf(h.deps, 'kol-f')).toMatchObject({ available: 400 });
    const c = await h.call('POST', `/v1/finance/payouts/${p.body.id}/confirm`, {
      token: fin,
      body: { reference: 'B2' },
    });
    expect(c.body.total).toBe(p.body.total - 400);
    expect(await balanceOf(h.deps, 'kol-f')).toMatchObject({ available: 400, paid: 0 });
    const late = await h.call('POST', `/v1/finance/payouts/${p.body.id}/items/kol-f/fail`, {
      token: fin,
      body: { reason: 'x' },
    });
    expect(late.status).toBe(200);
    const next = await h.call('POST', '/v1/finance/payouts', { token: fin, body: { asset: 'cash' } });
    expect(next.body.items).toContainEqual({ payeeId: 'kol-f', amount: 400 });
    expect(
      problem(
        await h.call('POST', `/v1/finance/payouts/${next.body.id}/items/nobody/fail`, {
          token: fin,
          body: { reason: 'x' },
        }),
      ),
    ).toEqual([404, 'not_found']);
  });

  it('carries a clawback after payout as a negative balance, and the next payout nets it', async () => {
    await deliver(h.deps, orderAttributed(clock, { orderId: 'o7', kolId: 'kol-c', commission: 1000 }));
    const p1 = await h.call('POST', '/v1/finance/payouts', { token: fin, body: { asset: 'cash' } });
    await h.call('POST', `/v1/finance/payouts/${p1.body.id}/confirm`, { token: fin, body: { reference: 'C1' } });
    await deliver(h.deps, orderRefunded(clock, { orderId: 'o7', refundId: 'r7', kolId: 'kol-c', reversal: 600 }));
    expect(await balanceOf(h.deps, 'kol-c')).toMatchObject({ available: -600, paid: 1000 });
    const mine = await h.call('GET', '/v1/rewards/mine', { token: h.token('kol-c', ['kol']) });
    expect(mine.body.balances.cash).toMatchObject({ available: -600, paid: 1000 });
    const p2 = await h.call('POST', '/v1/finance/payouts', { token: fin, body: { asset: 'cash' } });
    expect(p2.body.items.map((i: any) => i.payeeId)).not.toContain('kol-c');
    await deliver(h.deps, orderAttributed(clock, { orderId: 'o8', kolId: 'kol-c', commission: 800 }));
    const p3 = await h.call('POST', '/v1/finance/payouts', { token: fin, body: { asset: 'cash' } });
    expect(p3.body.items).toContainEqual({ payeeId: 'kol-c', amount: 200 });
    expect(await findEntry(h.deps.store, reversalId('o7', 'r7', 'kol-c'))).toMatchObject({
      state: 'in_payout',
      payoutId: p3.body.id,
    });
    expect(await balanceOf(h.deps, 'kol-c')).toMatchObject({ available: 0, inPayout: 200 });
  });

  it('never puts one entry in two payouts created at once, and each payout’s total is its lines', async () => {
    const payees = Array.from({ length: 12 }, (_, i) => `kol-cc-${i}`);
    for (const [i, kol] of payees.entries())
      for (let j = 0; j < 3; j++)
        await deliver(h.deps, orderAttributed(clock, { orderId: `occ-${i}-${j}`, kolId: kol, commission: 100 + j }));
    const [a, b] = await Promise.all([
      h.call('POST', '/v1/finance/payouts', { token: fin, body: { asset: 'cash' } }),
      h.call('POST', '/v1/finance/payouts', { token: fin, body: { asset: 'cash' } }),
    ]);
    expect([a.status, b.status]).toEqual([201, 201]);
    for (const p of [a, b]) expect(p.body.total).toBe(p.body.items.reduce((s: number, i: any) => s + i.amount, 0));
    const paidTo = [...a.body.items, ...b.body.items].filter((i: any) => payees.includes(i.payeeId));
    expect(paidTo.map((i: any) => i.payeeId).sort()).toEqual([...payees].sort());
    expect(paidTo.every((i: any) => i.amount === 303)).toBe(true);
    for (const kol of payees) {
      const entries = await listAllPayeeEntries(h.deps.store, kol);
      expect(entries.every((e) => e.state === 'in_payout')).toBe(true);
      expect(new Set(entries.map((e) => e.payoutId)).size).toBe(1);
      expect(await balanceOf(h.deps, kol)).toMatchObject({ available: 0, inPayout: 303 });
    }
    const rec = await h.call('GET', '/v1/finance/reconciliation', { token: fin });
    expect(rec.body.checks.filter((c: any) => !c.ok)).toEqual([]);
  });

  it('puts a payee of several moves in one payout whole, when another payout is created between its moves', async () => {
    // Prepare: 90 available entries of one payee (two moves of 45), and a hold on the first payout's second move.
    for (let j = 0; j < 90; j++)
      await deliver(h.deps, orderAttributed(clock, { orderId: `osplit-${j}`, kolId: 'kol-split', commission: 100 }));
    const store = h.deps.store;
    const transact = store.transact.bind(store);
    const secondMove = deferred();
    const firstMoved = deferred();
    let moves = 0;
    const spy = vi.spyOn(store, 'transact').mockImplementation(async (items) => {
      const mine = JSON.stringify(items).includes('ITEMPAGE#kol-split#');
      if (mine && ++moves === 2) {
        firstMoved.resolve();
        await secondMove.promise;
      }
      return transact(items);
    });
    try {
      // Act: a payout moves the payee's first 45 entries; another is created before its second move.
      const first = h.call('POST', '/v1/finance/payouts', { token: fin, body: { asset: 'cash' } });
      await firstMoved.promise;
      const second = await h.call('POST', '/v1/finance/payouts', { token: fin, body: { asset: 'cash' } });
      secondMove.resolve();
      const a = await first;

      // Assess: the payee whole in the first payout, not in the second.
      expect(a.body.items.filter((i: any) => i.payeeId === 'kol-split')).toEqual([
        { payeeId: 'kol-split', amount: 9000 },
      ]);
      expect(second.body.items.filter((i: any) => i.payeeId === 'kol-split')).toEqual([]);
      expect(new Set((await listAllPayeeEntries(store, 'kol-split')).map((e) => e.payoutId))).toEqual(
        new Set([a.body.id]),
      );
    } finally {
      secondMove.resolve();
      spy.mockRestore();
    }
    // The claim ends with the payee's last move: a later payout can take it again.
    await deliver(h.deps, orderAttributed(clock, { orderId: 'osplit-late', kolId: 'kol-split', commission: 100 }));
    const later = await h.call('POST', '/v1/finance/payouts', { token: fin, body: { asset: 'cash' } });
    expect(later.body.items.filter((i: any) => i.payeeId === 'kol-split')).toEqual([
      { payeeId: 'kol-split', amount: 100 },
    ]);
  });

  it('lets the next payout take a payee once the payout that claimed it has ended', async () => {
    // Prepare: 46 entries of 100 (two moves); a request with key K dies after the first move.
    for (let j = 0; j < 46; j++)
      await deliver(h.deps, orderAttributed(clock, { orderId: `oclaim-${j}`, kolId: 'kol-claim', commission: 100 }));
    const request = { caller: 'user:fin-1', key: 'K-claim' };
    const input = { asset: 'cash' as const, minAmount: 4000 };
    const { dying, written } = dyingAfter(h.deps.store, 1, 'kol-claim');
    await expect(createPayout({ ...h.deps, store: dying }, input, { request })).rejects.toThrow('the creator stopped');
    await Promise.allSettled(written);
    // The retry of K finishes that payout (the 100 left is below its minAmount, so it stays available).
    const a = await createPayout(h.deps, input, { request });
    expect((await findPayout(h.deps.store, a.id))!.status).toBe('pending');
    expect(a.items).toEqual([{ payeeId: 'kol-claim', amount: 4500 }]);
    const left = (await listAllPayeeEntries(h.deps.store, 'kol-claim')).filter((e) => e.state === 'available');
    expect(left.map((e) => e.amount)).toEqual([100]);

    // Act: a new payout, minutes later, with the default minAmount.
    clock.advance(60);
    const b = await createPayout(h.deps, { asset: 'cash', minAmount: 100 });

    // Assess: API.md — it covers every payee whose available balance is ≥ minAmount: kol-claim has 100 available.
    expect(b.items.filter((i) => i.payeeId === 'kol-claim')).toEqual([{ payeeId: 'kol-claim', amount: 100 }]);
  }, 60_000);

  it('a payout whose creation was cut off keeps the payees it holds, is ended by the sweeper, and the next payout takes the rest', async () => {
    const payees = Array.from({ length: 20 }, (_, i) => `kol-cut-${i}`);
    for (const [i, kol] of payees.entries())
      await deliver(h.deps, orderAttributed(clock, { orderId: `ocut-${i}`, kolId: kol, commission: 250 }));
    // The creator dies after three of these payees are moved: every later transaction fails.
    const { dying, written } = dyingAfter(h.deps.store, 3, 'kol-cut-');
    await expect(createPayout({ ...h.deps, store: dying }, { asset: 'cash', minAmount: 100 })).rejects.toThrow(
      'the creator stopped',
    );
    await Promise.allSettled(written); // the moves already under way when it died
    const entries = (await Promise.all(payees.map((k) => listAllPayeeEntries(h.deps.store, k)))).flat();
    const taken = entries.filter((e) => e.state === 'in_payout');
    expect(taken).toHaveLength(3);
    const cutId = taken[0]!.payoutId!;
    expect(new Set(taken.map((e) => e.payoutId))).toEqual(new Set([cutId]));

    // While it is being created: reconciliation agrees, and it can be neither confirmed nor failed.
    const during = await h.call('GET', '/v1/finance/reconciliation', { token: fin });
    expect(during.body.checks.filter((c: any) => !c.ok)).toEqual([]);
    const early = await h.call('POST', `/v1/finance/payouts/${cutId}/confirm`, {
      token: fin,
      body: { reference: 'B' },
    });
    expect(problem(early)).toEqual([409, 'conflict']);
    const fail = await h.call('POST', `/v1/finance/payouts/${cutId}/items/${taken[0]!.payeeId}/fail`, {
      token: fin,
      body: { reason: 'r' },
    });
    expect(problem(fail)).toEqual([409, 'conflict']);

    // The sweeper ends it once its creator is surely gone: total = its lines, and it turns pending.
    await sweepOnce(h.deps, sweepTasks);
    expect((await findPayout(h.deps.store, cutId))!.status).toBe('creating');
    clock.advance(PAYOUT_FINISH_AFTER_MS);
    fin = h.token('fin-1', ['finance']); // the one from before has expired on the moved clock
    await sweepOnce(h.deps, sweepTasks);
    expect(await findPayout(h.deps.store, cutId)).toMatchObject({ status: 'pending', total: 750 });
    const after = await h.call('GET', '/v1/finance/reconciliation', { token: fin });
    expect(after.body.checks.filter((c: any) => !c.ok)).toEqual([]);

    const confirmed = await h.call('POST', `/v1/finance/payouts/${cutId}/confirm`, {
      token: fin,
      body: { reference: 'BANK-CUT' },
    });
    expect(confirmed.body).toMatchObject({ status: 'confirmed', total: 750 });
    expect(confirmed.body.items).toHaveLength(3);
    const next = await h.call('POST', '/v1/finance/payouts', { token: fin, body: { asset: 'cash' } });
    const rest = next.body.items.filter((i: any) => payees.includes(i.payeeId)).map((i: any) => i.payeeId);
    const cut = confirmed.body.items.map((i: any) => i.payeeId);
    expect([...rest, ...cut].sort()).toEqual([...payees].sort());
  });

  it('a sole writer starting up ends at once a payout its earlier run left being created, and only that one', async () => {
    const payees = Array.from({ length: 6 }, (_, i) => `kol-dead-run-${i}`);
    for (const [i, kol] of payees.entries())
      await deliver(h.deps, orderAttributed(clock, { orderId: `odead-${i}`, kolId: kol, commission: 300 }));
    const { dying, written } = dyingAfter(h.deps.store, 2, 'kol-dead-run-');
    await expect(createPayout({ ...h.deps, store: dying }, { asset: 'cash', minAmount: 100 })).rejects.toThrow(
      'the creator stopped',
    );
    await Promise.allSettled(written);
    const entries = (await Promise.all(payees.map((k) => listAllPayeeEntries(h.deps.store, k)))).flat();
    const cutId = entries.find((e) => e.state === 'in_payout')!.payoutId!;
    expect((await findPayout(h.deps.store, cutId))!.status).toBe('creating');

    expect(await finishAbandonedPayouts(h.deps)).toBe(1); // no waiting for PAYOUT_FINISH_AFTER_MS
    expect(await findPayout(h.deps.store, cutId)).toMatchObject({ status: 'pending', total: 600 });
    expect(await finishAbandonedPayouts(h.deps)).toBe(0);
    const confirmed = await h.call('POST', `/v1/finance/payouts/${cutId}/confirm`, {
      token: fin,
      body: { reference: 'BANK-DEAD-RUN' },
    });
    expect([confirmed.status, confirmed.body.status, confirmed.body.items.length]).toEqual([200, 'confirmed', 2]);
  });

  it('a retry with the Idempotency-Key of a request cut off mid-creation finishes that payout, not a second one', async () => {
    const payees = Array.from({ length: 12 }, (_, i) => `kol-retry-${i}`);
    for (const [i, kol] of payees.entries())
      await deliver(h.deps, orderAttributed(clock, { orderId: `oretry-${i}`, kolId: kol, commission: 300 }));
    // The request with key K dies after moving two payees (a crash: its key's lock lapses unanswered).
    const { dying, written } = dyingAfter(h.deps.store, 2, 'kol-retry-');
    const input = { asset: 'cash' as const, minAmount: 100 };
    await expect(
      createPayout({ ...h.deps, store: dying }, input, { request: { caller: 'fin-1', key: 'K' } }),
    ).rejects.toThrow('the creator stopped');
    await Promise.allSettled(written);
    const cut = (await Promise.all(payees.map((k) => listAllPayeeEntries(h.deps.store, k))))
      .flat()
      .filter((e) => e.state === 'in_payout');
    expect(cut).toHaveLength(2);

    const retry = await h.call('POST', '/v1/finance/payouts', {
      token: fin,
      headers: { 'idempotency-key': 'K' },
      body: { asset: 'cash' },
    });
    expect(retry.status).toBe(201);
    expect(retry.body).toMatchObject({ id: cut[0]!.payoutId, status: 'pending' });
    const mine = retry.body.items.filter((i: any) => payees.includes(i.payeeId));
    expect(mine.map((i: any) => i.payeeId).sort()).toEqual([...payees].sort());
    expect(retry.body.total).toBe(retry.body.items.reduce((s: number, i: any) => s + i.amount, 0));
    const entries = (await Promise.all(payees.map((k) => listAllPayeeEntries(h.deps.store, k)))).flat();
    expect(entries.every((e) => e.state === 'in_payout' && e.payoutId === retry.body.id)).toBe(true);
    // The finished request replays; the key with another minimum is refused.
    const again = await h.call('POST', '/v1/finance/payouts', {
      token: fin,
      headers: { 'idempotency-key': 'K' },
      body: { asset: 'cash' },
    });
    expect([again.status, again.body.id]).toEqual([201, retry.body.id]);
    await expect(
      createPayout(h.deps, { asset: 'cash', minAmount: 500 }, { request: { caller: 'fin-1', key: 'K' } }),
    ).rejects.toMatchObject({ code: 'idempotency_key_reused' });
    const recon = await h.call('GET', '/v1/finance/reconciliation', { token: fin });
    expect(recon.body.checks.filter((c: any) => !c.ok)).toEqual([]);
  });

  it('a request still moving payees when its retry (same key) has ended the payout moves nothing more into it', async () => {
    const own = await createHarness({ clock: new ManualClock() });
    await deliver(own.deps, orderAttributed(own.clock, { orderId: 'o-race-1', kolId: 'kol-race-1', commission: 300 }));
    // The first request is held just before it lists the payable balances (a slow instance).
    const { promise: gate, resolve: open } = deferred();
    const { promise: atGate, resolve: reached } = deferred();
    const slow = Object.create(own.deps.store) as typeof own.deps.store;
    let held = false;
    slow.query = async (q) => {
      if (!held && q.index === 'gsi1') {
        held = true;
        reached();
        await gate;
      }
      return own.deps.store.query(q);
    };
    const input = { asset: 'cash' as const, minAmount: 100 };
    const request = { caller: 'fin-1', key: 'slow' };
    const first = createPayout({ ...own.deps, store: slow }, input, { request });
    await atGate;
    const retry = await createPayout(own.deps, input, { request });
    expect(retry).toMatchObject({ status: 'pending', total: 300 });
    // Meanwhile another payee's commission becomes available; then the first request goes on.
    await deliver(own.deps, orderAttributed(own.clock, { orderId: 'o-race-2', kolId: 'kol-race-2', commission: 500 }));
    open();
    await first;
    const payout = await findPayout(own.deps.store, retry.id);
    expect(payout).toMatchObject({ status: 'pending', total: 300 });
    expect((await listAllPayeeEntries(own.deps.store, 'kol-race-2'))[0]!.state).toBe('available');
  });

  it('a second mover committing while the first ends the payout cannot add a line outside its total', async () => {
    const own = await createHarness({ clock: new ManualClock() });
    await deliver(own.deps, orderAttributed(own.clock, { orderId: 'fr-a', kolId: 'kol-fr-a', commission: 300 }));
    await deliver(own.deps, orderAttributed(own.clock, { orderId: 'fr-b', kolId: 'kol-fr-b', commission: 500 }));
    const request = { caller: 'fin-1', key: 'race' };
    const input = { asset: 'cash' as const, minAmount: 100 };
    const settingTotal = (u: { update: string }) => u.update.includes(':pending');
    // B (the retry) is held just before it sets the total; A (the first request) skips payee b.
    const { promise: bReachedFinish, resolve: bAtFinish } = deferred();
    const { promise: bGate, resolve: releaseB } = deferred();
    const storeB = Object.create(own.deps.store) as Store;
    storeB.update = (async (u) => {
      if (settingTotal(u)) {
        bAtFinish();
        await bGate;
      }
      return own.deps.store.update(u);
    }) as Store['update'];
    let b: Promise<unknown> | undefined;
    const storeA = Object.create(own.deps.store) as Store;
    storeA.transact = async (items) => {
      if (JSON.stringify(items).includes('kol-fr-b')) throw new StaleReadError('slow on b');
      return own.deps.store.transact(items);
    };
    storeA.update = (async (u) => {
      // A has read the lines: now the retry runs and tries to move payee b.
      if (settingTotal(u)) {
        b = createPayout({ ...own.deps, store: storeB }, input, { request });
        await bReachedFinish;
      }
      return own.deps.store.update(u);
    }) as Store['update'];
    const a = await createPayout({ ...own.deps, store: storeA }, input, { request });
    releaseB();
    await b;
    const payout = await findPayout(own.deps.store, a.id);
    const lines = await listPayoutItems(own.deps.store, a.id);
    expect(payout!.total).toBe(lines.reduce((sum, l) => sum + l.amount, 0));
    expect((await listAllPayeeEntries(own.deps.store, 'kol-fr-b'))[0]!.state).toBe('available');
  });

  it('a key used again after its idempotency record expired makes a new payout', async () => {
    const weekClock = new ManualClock();
    const own = await createHarness({ clock: weekClock });
    const token = () => own.token('fin-1', ['finance']);
    const pay = () =>
      own.call('POST', '/v1/finance/payouts', {
        token: token(),
        headers: { 'idempotency-key': 'weekly' },
        body: { asset: 'cash' },
      });
    await deliver(own.deps, orderAttributed(own.clock, { orderId: 'o-week-1', kolId: 'kol-week-1', commission: 300 }));
    const first = await pay();
    expect(first.body).toMatchObject({ status: 'pending', total: 300 });
    weekClock.advance(26 * 3600);
    await deliver(own.deps, orderAttributed(own.clock, { orderId: 'o-week-2', kolId: 'kol-week-2', commission: 500 }));
    const second = await pay();
    expect(second.headers.get('idempotent-replayed')).toBeNull();
    expect([second.status, second.body.id === first.body.id, second.body.total]).toEqual([201, false, 500]);
  });

  it('a creation still moving payees 10 minutes on stops there and ends; the rest wait for the next payout', async () => {
    const payees = Array.from({ length: 20 }, (_, i) => `kol-slow-${i}`);
    for (const [i, kol] of payees.entries())
      await deliver(h.deps, orderAttributed(clock, { orderId: `oslow-${i}`, kolId: kol, commission: 120 }));
    let slowed = false;
    const slow = Object.create(h.deps.store) as typeof h.deps.store;
    slow.transact = async (items) => {
      if (!slowed && JSON.stringify(items).includes('kol-slow-')) {
        slowed = true;
        clock.advance(10 * 60_000 + 1); // the first payees take ten minutes
      }
      return h.deps.store.transact(items);
    };
    const p = await createPayout({ ...h.deps, store: slow }, { asset: 'cash', minAmount: 100 });
    fin = h.token('fin-1', ['finance']);
    const mine = p.items.filter((i) => payees.includes(i.payeeId));
    expect(mine.length).toBeGreaterThan(0);
    expect(mine.length).toBeLessThan(payees.length);
    expect(p).toMatchObject({ status: 'pending', total: p.items.reduce((s, i) => s + i.amount, 0) });
    expect(await findPayout(h.deps.store, p.id)).toMatchObject({ status: 'pending', total: p.total });
    const next = await h.call('POST', '/v1/finance/payouts', { token: fin, body: { asset: 'cash' } });
    const rest = next.body.items.filter((i: any) => payees.includes(i.payeeId));
    expect([...mine, ...rest].map((i) => i.payeeId).sort()).toEqual([...payees].sort());
    const rec = await h.call('GET', '/v1/finance/reconciliation', { token: fin });
    expect(rec.body.checks.filter((c: any) => !c.ok)).toEqual([]);
  });

  it('two confirmations at once pay each entry once', async () => {
    await deliver(h.deps, orderAttributed(clock, { orderId: 'o-cc', kolId: 'kol-cc', commission: 800 }));
    const p = await h.call('POST', '/v1/finance/payouts', { token: fin, body: { asset: 'cash' } });
    const confirm = () =>
      h.call('POST', `/v1/finance/payouts/${p.body.id}/confirm`, { token: fin, body: { reference: 'TWICE' } });
    const [a, b] = await Promise.all([confirm(), confirm()]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(await balanceOf(h.deps, 'kol-cc')).toMatchObject({ paid: 800, inPayout: 0 });
  });

  it('a confirmation racing line failures leaves every entry either paid or back to available, never both', async () => {
    const payees = ['kol-r1', 'kol-r2', 'kol-r3', 'kol-r4'];
    for (const [i, kol] of payees.entries())
      await deliver(h.deps, orderAttributed(clock, { orderId: `orc-${i}`, kolId: kol, commission: 500 }));
    const p = await h.call('POST', '/v1/finance/payouts', { token: fin, body: { asset: 'cash' } });
    const [c, f1, f2] = await Promise.all([
      h.call('POST', `/v1/finance/payouts/${p.body.id}/confirm`, { token: fin, body: { reference: 'RACE' } }),
      h.call('POST', `/v1/finance/payouts/${p.body.id}/items/kol-r1/fail`, { token: fin, body: { reason: 'x' } }),
      h.call('POST', `/v1/finance/payouts/${p.body.id}/items/kol-r2/fail`, { token: fin, body: { reason: 'x' } }),
    ]);
    expect(c.status).toBe(200);
    for (const f of [f1, f2]) expect([200, 409]).toContain(f.status);
    for (const [i, kol] of payees.entries()) {
      const e = await findEntry(h.deps.store, commissionId(`orc-${i}`, kol));
      const b = await balanceOf(h.deps, kol);
      if (e!.state === 'paid') expect(b).toMatchObject({ paid: 500, available: 0, inPayout: 0 });
      else expect([e!.state, b.available, b.inPayout]).toEqual(['available', 500, 0]);
    }
    const rec = await h.call('GET', '/v1/finance/reconciliation', { token: fin });
    expect(rec.body.checks.filter((x: any) => !x.ok)).toEqual([]);
  });
});

describe('Finance API: holds', () => {
  let h: Harness;
  let clock: ManualClock;
  let fin: string;
  beforeAll(async () => {
    clock = new ManualClock();
    h = await createHarness({ clock });
    fin = h.token('fin-1', ['finance']);
  });

  it('keeps held entries out of payouts until released, then pays them', async () => {
    await deliver(
      h.deps,
      inviteQualified(clock, { inviteId: 'inv-h1', inviterId: 'hal', inviteeId: 'ida', held: true }),
    );
    const id = entryIdFor('invite', 'inv-h1', 'hal', 'invite_inviter');
    const p = await h.call('POST', '/v1/finance/payouts', { token: fin, body: { asset: 'cash' } });
    expect(p.body.items).toEqual([]);
    const r = await h.call('POST', `/v1/finance/holds/${id}/release`, { token: fin });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id, held: false, holdDecision: 'released', state: 'available' });
    expect(await balanceOf(h.deps, 'hal')).toMatchObject({ held: 0, available: 500 });
    expect((await h.call('POST', `/v1/finance/holds/${id}/release`, { token: fin })).status).toBe(200);
    expect(problem(await h.call('POST', `/v1/finance/holds/${id}/reject`, { token: fin }))).toEqual([409, 'conflict']);
    const q = await h.call('POST', '/v1/finance/payouts', { token: fin, body: { asset: 'cash' } });
    expect(q.body.items).toContainEqual({ payeeId: 'hal', amount: 500 });
  });

  it('releases or rejects a held commission with any number of reversals, finishing what a stopped call left', async () => {
    for (const [orderId, kolId] of [
      ['o-hr', 'kol-hr'],
      ['o-hj', 'kol-hj'],
    ] as const) {
      await deliver(h.deps, orderAttributed(clock, { orderId, kolId, commission: 10_000, held: true }));
      for (let i = 0; i < 90; i++)
        await deliver(h.deps, orderRefunded(clock, { orderId, refundId: `${orderId}-r${i}`, kolId, reversal: 10 }));
      expect(await balanceOf(h.deps, kolId)).toMatchObject({ held: 9100 });
    }
    // The release stops after two transactions (its mark, then 40 reversals), then is asked again.
    let transactions = 0;
    const stopping = Object.create(h.deps.store) as Store;
    stopping.transact = async (items) => {
      if (++transactions > 2) throw new Error('Lambda timed out');
      await h.deps.store.transact(items);
    };
    const hr = commissionId('o-hr', 'kol-hr');
    await expect(releaseHold({ store: stopping }, hr)).rejects.toThrow('Lambda timed out');
    // The commission is still held: nothing of it is payable while reversals wait.
    expect(await findEntry(h.deps.store, hr)).toMatchObject({ held: true, deciding: 'released' });
    expect(await balanceOf(h.deps, 'kol-hr')).toMatchObject({ held: 10_000 - 500, available: -400 });
    const p = await h.call('POST', '/v1/finance/payouts', { token: fin, body: { asset: 'cash', minAmount: 1 } });
    expect(p.body.items.map((i: any) => i.payeeId)).not.toContain('kol-hr');
    expect(problem(await h.call('POST', `/v1/finance/holds/${hr}/reject`, { token: fin }))).toEqual([409, 'conflict']);
    const r = await h.call('POST', `/v1/finance/holds/${hr}/release`, { token: fin });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ held: false, holdDecision: 'released' });
    expect(await balanceOf(h.deps, 'kol-hr')).toMatchObject({ held: 0, available: 9100 });
    const j = await h.call('POST', `/v1/finance/holds/${commissionId('o-hj', 'kol-hj')}/reject`, { token: fin });
    expect(j.status).toBe(200);
    expect(await balanceOf(h.deps, 'kol-hj')).toMatchObject({ held: 0, available: 0 });
    expect((await findEntry(h.deps.store, reversalId('o-hj', 'o-hj-r89', 'kol-hj')))!.state).toBe('rejected');
    const rec = await h.call('GET', '/v1/finance/reconciliation', { token: fin });
    expect(rec.body.ok).toBe(true);
  });

  it('rejecting a held commission voids it and its reversal, and removes them from the balance', async () => {
    await deliver(
      h.deps,
      orderAttributed(clock, { orderId: 'oh', kolId: 'kol-h', commission: 900, held: true, lockSeconds: 60 }),
    );
    await deliver(h.deps, orderRefunded(clock, { orderId: 'oh', refundId: 'rh', kolId: 'kol-h', reversal: 100 }));
    expect(await balanceOf(h.deps, 'kol-h')).toMatchObject({ held: 800, locked: 0 });
    expect(
      problem(await h.call('POST', `/v1/finance/holds/${reversalId('oh', 'rh', 'kol-h')}/reject`, { token: fin })),
    ).toEqual([409, 'conflict']);
    const r = await h.call('POST', `/v1/finance/holds/${commissionId('oh', 'kol-h')}/reject`, { token: fin, body: {} });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ state: 'rejected', holdDecision: 'rejected' });
    expect((await findEntry(h.deps.store, reversalId('oh', 'rh', 'kol-h')))!.state).toBe('rejected');
    expect(await balanceOf(h.deps, 'kol-h')).toMatchObject({ held: 0, locked: 0, available: 0 });
    clock.advance(61);
    await h.sweep();
    expect(await balanceOf(h.deps, 'kol-h')).toMatchObject({ held: 0, locked: 0, available: 0 });
    const rec = await h.call('GET', '/v1/finance/reconciliation', { token: fin });
    expect(rec.body.ok).toBe(true);
  });

  it('answers 404 for an unknown entry, 409 for one never held, and refuses a body', async () => {
    await deliver(h.deps, inviteQualified(clock, { inviteId: 'inv-n', inviterId: 'ned', inviteeId: 'ola' }));
    const id = entryIdFor('invite', 'inv-n', 'ned', 'invite_inviter');
    expect(problem(await h.call('POST', '/v1/finance/holds/led_nope/release', { token: fin }))).toEqual([
      404,
      'not_found',
    ]);
    expect(problem(await h.call('POST', `/v1/finance/holds/${id}/release`, { token: fin }))).toEqual([409, 'conflict']);
    expect(problem(await h.call('POST', `/v1/finance/holds/${id}/release`, { token: fin, body: { why: 1 } }))).toEqual([
      400,
      'validation_failed',
    ]);
  });
});

describe('Finance API: exports, reconciliation, validation and roles', () => {
  let h: Harness;
  let clock: ManualClock;
  let fin: string;
  beforeAll(async () => {
    clock = new ManualClock();
    h = await createHarness({ clock });
    for (let i = 0; i < 25; i++) {
      await deliver(
        h.deps,
        orderAttributed(clock, { orderId: `ex-${i}`, kolId: i % 2 ? 'kol-odd' : 'kol-even', commission: 1999 + i }),
      );
      clock.advance(i === 12 ? 86_400 : 60);
    }
    await deliver(h.deps, orderRefunded(clock, { orderId: 'ex-1', refundId: 'rx-1', kolId: 'kol-odd', reversal: 5 }));
    fin = h.token('fin-1', ['finance']);
  });

  it('pages JSON in a stable (createdAt, id) order across days without gaps or repeats', async () => {
    const seen: any[] = [];
    let cursor: string | null = null;
    do {
      const q: string = `/v1/finance/ledger?from=2026-11-24T00:00:00.000Z&to=2026-11-26T00:00:00.000Z&limit=7${cursor ? `&cursor=${cursor}` : ''}`;
      const r = await h.call('GET', q, { token: fin });
      expect(r.status).toBe(200);
      expect(r.body.items.length).toBeLessThanOrEqual(7);
      seen.push(...r.body.items);
      cursor = r.body.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(26);
    const keys = seen.map((e) => `${e.createdAt}#${e.id}`);
    expect(keys).toEqual([...keys].sort());
    // UTC days stand for their first and last millisecond: the same two days, written as days.
    const byDay = await h.call('GET', '/v1/finance/ledger?from=2026-11-24&to=2026-11-25&limit=100', { token: fin });
    expect(byDay.body.items.map((e: any) => `${e.createdAt}#${e.id}`)).toEqual(keys);
    const firstDay = await h.call('GET', '/v1/finance/ledger?from=2026-11-24&to=2026-11-24&limit=100', { token: fin });
    expect(firstDay.body.items.every((e: any) => e.createdAt.startsWith('2026-11-24'))).toBe(true);
    expect(firstDay.body.items.length).toBeGreaterThan(0);
    const odd = await h.call('GET', '/v1/finance/ledger?payeeId=kol-odd&limit=100', { token: fin });
    expect(odd.body.items).toHaveLength(13);
    expect(odd.body.items.every((e: any) => e.payeeId === 'kol-odd')).toBe(true);
  });

  it('streams CSV with a header row, one row per entry, minor units and a formatted amount', async () => {
    const r = await h.call(
      'GET',
      '/v1/finance/ledger?format=csv&from=2026-11-24T00:00:00.000Z&to=2026-11-26T00:00:00.000Z',
      {
        token: fin,
      },
    );
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('text/csv');
    const lines = r.text.trimEnd().split('\r\n');
    expect(lines[0]).toBe(
      'id,createdAt,payeeId,asset,kind,amount,amountFormatted,state,held,causeType,causeId,unlockAt,payoutId',
    );
    expect(lines).toHaveLength(27);
    const first = lines[1]!.split(',');
    expect(first[5]).toBe('1999');
    expect(first[6]).toBe('19.99');
    const rev = lines.find((l) => l.includes('commission_reversal'))!.split(',');
    expect([rev[5], rev[6]]).toEqual(['-5', '-0.05']);
  });

  it('reconciles ok, and names the payee when a balance disagrees with its entries', async () => {
    const ok = await h.call('GET', '/v1/finance/reconciliation', { token: fin });
    expect(ok.status).toBe(200);
    expect(ok.body.ok).toBe(true);
    expect(ok.body.checks.map((c: any) => c.name)).toEqual(
      expect.arrayContaining([
        'balances_match_entries',
        'paid_entries_in_one_confirmed_payout',
        'no_cause_settled_twice',
        'negative_available_reported',
      ]),
    );
    const period = await h.call(
      'GET',
      '/v1/finance/reconciliation?from=2026-11-25T00:00:00.000Z&to=2026-11-26T00:00:00.000Z',
      {
        token: fin,
      },
    );
    expect(period.body).toMatchObject({ ok: true, period: { from: '2026-11-25T00:00:00.000Z' } });
    await h.deps.store.update({
      key: ledgerBalanceKey('kol-even', 'cash'),
      update: 'ADD available :x',
      values: { ':x': 1 },
    });
    const bad = await h.call('GET', '/v1/finance/reconciliation', { token: fin });
    expect(bad.body.ok).toBe(false);
    const check = bad.body.checks.find((c: any) => c.name === 'balances_match_entries');
    expect(check.ok).toBe(false);
    expect(check.detail).toContain('kol-even');
    // A period's reconciliation reads the balances of the payees it saw, and finds it too.
    const badPeriod = await h.call(
      'GET',
      `/v1/finance/reconciliation?from=${period.body.period.from}&to=${period.body.period.to}`,
      {
        token: fin,
      },
    );
    expect(badPeriod.body.ok).toBe(false);
    expect(badPeriod.body.checks.find((c: any) => c.name === 'balances_match_entries').detail).toContain('kol-even');
    await h.deps.store.update({
      key: ledgerBalanceKey('kol-even', 'cash'),
      update: 'ADD available :x',
      values: { ':x': -1 },
    });
  });

  it.each([
    ['POST', '/v1/finance/payouts', { asset: 'points' }],
    ['POST', '/v1/finance/payouts', { asset: 'cash', minAmount: -1 }],
    ['POST', '/v1/finance/payouts', { asset: 'cash', minAmount: 1.5 }],
    ['POST', '/v1/finance/payouts', { asset: 'cash', extra: true }],
    ['POST', '/v1/finance/payouts', {}],
    ['POST', '/v1/finance/payouts/pay_x/confirm', {}],
    ['POST', '/v1/finance/payouts/pay_x/confirm', { reference: '' }],
    ['POST', '/v1/finance/payouts/pay_x/items/u1/fail', { reason: 7 }],
    ['GET', '/v1/finance/ledger?format=xml', undefined],
    ['GET', '/v1/finance/ledger?from=yesterday', undefined],
    ['GET', '/v1/finance/ledger?from=2026-11-25T00:00:00.000Z&to=2026-11-24T00:00:00.000Z', undefined],
    ['GET', '/v1/finance/ledger?from=2020-01-01T00:00:00.000Z&to=2026-11-24T00:00:00.000Z', undefined],
    ['GET', '/v1/finance/ledger?cursor=garbage', undefined],
    ['GET', '/v1/finance/ledger?limit=101', undefined],
    ['GET', '/v1/finance/reconciliation?to=2026-11-31', undefined],
    ['GET', '/v1/finance/ledger?from=2026-11-24T00:00:00.000%2B08:00', undefined],
  ])('%s %s refuses bad input with 400 validation_failed', async (method, path, body) => {
    const before = await h.call('GET', '/v1/finance/reconciliation', { token: fin });
    const r = await h.call(method, path, { token: fin, body });
    expect(problem(r)).toEqual([400, 'validation_failed']);
    expect(r.headers.get('content-type')).toContain('application/problem+json');
    const after = await h.call('GET', '/v1/finance/reconciliation', { token: fin });
    expect(after.body.totals.payouts).toBe(before.body.totals.payouts);
  });

  it.each([
    ['GET', '/v1/finance/ledger'],
    ['POST', '/v1/finance/payouts'],
    ['POST', '/v1/finance/payouts/pay_x/confirm'],
    ['POST', '/v1/finance/payouts/pay_x/items/u1/fail'],
    ['POST', '/v1/finance/holds/led_x/release'],
    ['POST', '/v1/finance/holds/led_x/reject'],
    ['GET', '/v1/finance/reconciliation'],
  ])('%s %s needs a token (401) with the finance role (403)', async (method, path) => {
    const body = method === 'POST' ? {} : undefined;
    expect(problem(await h.call(method, path, { body }))).toEqual([401, 'unauthorized']);
    const user = h.token('kol-even', ['user', 'kol', 'admin']);
    expect(problem(await h.call(method, path, { token: user, body }))).toEqual([403, 'forbidden']);
  });

  it('documents every rewards and finance route in the OpenAPI spec', async () => {
    const r = await h.call('GET', '/openapi.json');
    expect(r.status).toBe(200);
    for (const path of [
      '/v1/rewards/mine',
      '/v1/finance/ledger',
      '/v1/finance/payouts',
      '/v1/finance/payouts/{id}/confirm',
      '/v1/finance/payouts/{id}/items/{payeeId}/fail',
      '/v1/finance/holds/{entryId}/release',
      '/v1/finance/holds/{entryId}/reject',
      '/v1/finance/reconciliation',
    ])
      expect(r.body.paths).toHaveProperty([path]);
    expect(r.body.paths['/v1/finance/ledger'].get.responses['200'].content).toHaveProperty(['text/csv']);
  });

  it('shows a user only their own balances and entries, newest first', async () => {
    const r = await h.call('GET', '/v1/rewards/mine?limit=5', { token: h.token('kol-odd', ['user']) });
    expect(r.status).toBe(200);
    expect(r.body.balances.cash.available).toBe([...Array(12).keys()].reduce((s, i) => s + 1999 + 2 * i + 1, 0) - 5);
    expect(r.body.entries.items).toHaveLength(5);
    expect(r.body.entries.items.every((e: any) => e.payeeId === 'kol-odd')).toBe(true);
    expect(r.body.entries.items[0].kind).toBe('commission_reversal');
    const next = await h.call('GET', `/v1/rewards/mine?limit=5&cursor=${r.body.entries.nextCursor}`, {
      token: h.token('kol-odd', ['user']),
    });
    expect(next.body.entries.items[0].createdAt <= r.body.entries.items[4].createdAt).toBe(true);
    const none = await h.call('GET', '/v1/rewards/mine', { token: h.token('nobody', ['user']) });
    const zero = { locked: 0, available: 0, inPayout: 0, paid: 0, held: 0 };
    expect(none.body).toEqual({ balances: { cash: zero, points: zero }, entries: { items: [], nextCursor: null } });
    expect(problem(await h.call('GET', '/v1/rewards/mine'))).toEqual([401, 'unauthorized']);
    expect(problem(await h.call('GET', '/v1/rewards/mine', { token: h.token('f', ['finance']) }))).toEqual([
      403,
      'forbidden',
    ]);
    expect(problem(await h.call('GET', '/v1/rewards/mine?limit=0', { token: h.token('kol-odd') }))).toEqual([
      400,
      'validation_failed',
    ]);
  });
});
