import { beforeAll, describe, expect, it } from 'vitest';
import { REVERSALS_PER_TX } from '#shared/domain/ledger/apply-reversals';
import { createPayout } from '#shared/domain/ledger/create-payout';
import { reconcileLedger } from '#shared/domain/ledger/reconcile';
import { entryIdFor } from '#shared/domain/ledger/rules';
import { unlockEntry } from '#shared/domain/ledger/unlock-entry';
import { buildEvent, outboxPut } from '#shared/events/outbox';
import { financeActivityKey, ledgerPendingReversalPk } from '#shared/store/keys';
import { findEntries } from '#shared/store/ledger';
import type { Store } from '#shared/store/store';
import { createHarness, type Harness, ManualClock } from '../../support/harness.ts';
import {
  balanceOf,
  commissionId,
  deliver,
  findEntry,
  inviteQualified,
  orderAttributed,
  orderRefunded,
  reversalId,
} from './events.ts';

describe('Ledger settlement from events', () => {
  let h: Harness;
  let clock: ManualClock;
  beforeAll(async () => {
    clock = new ManualClock();
    h = await createHarness({ clock });
  });

  it('pays both sides of a rewarded invite once, however often the event is delivered', async () => {
    const e = inviteQualified(clock, { inviteId: 'inv_1', inviterId: 'alice', inviteeId: 'bob' });
    await deliver(h.deps, e);
    await deliver(h.deps, e);
    await deliver(h.deps, { ...e, id: 'evt_other', detail: { ...e.detail, eventId: 'evt_other' } });
    expect(await balanceOf(h.deps, 'alice')).toMatchObject({ available: 500, locked: 0 });
    expect(await balanceOf(h.deps, 'bob')).toMatchObject({ available: 200 });
    const entry = await findEntry(h.deps.store, entryIdFor('invite', 'inv_1', 'alice', 'invite_inviter'));
    expect(entry).toMatchObject({
      amount: 500,
      kind: 'invite_inviter',
      state: 'available',
      cause: { type: 'invite', id: 'inv_1' },
    });
  });

  it('records nothing for an invite over the limit, and no entry for a zero reward', async () => {
    await deliver(
      h.deps,
      inviteQualified(clock, { inviteId: 'inv_2', inviterId: 'carol', inviteeId: 'dan', rewarded: false }),
    );
    await deliver(
      h.deps,
      inviteQualified(clock, { inviteId: 'inv_3', inviterId: 'erin', inviteeId: 'fay', invitee: 0 }),
    );
    expect(await balanceOf(h.deps, 'carol')).toMatchObject({ available: 0 });
    expect(await balanceOf(h.deps, 'erin')).toMatchObject({ available: 500 });
    expect(await findEntry(h.deps.store, entryIdFor('invite', 'inv_3', 'fay', 'invite_invitee'))).toBeUndefined();
  });

  it('locks commission for lockSeconds and the sweep unlocks it at unlockAt, moving the balance', async () => {
    await deliver(
      h.deps,
      orderAttributed(clock, { orderId: 'o-lock', kolId: 'kol-lock', commission: 1000, lockSeconds: 3600 }),
    );
    expect(await balanceOf(h.deps, 'kol-lock')).toMatchObject({ locked: 1000, available: 0 });
    clock.advance(1800);
    await h.sweep();
    expect((await findEntry(h.deps.store, commissionId('o-lock', 'kol-lock')))!.state).toBe('locked');
    clock.advance(1801);
    await h.sweep();
    expect((await findEntry(h.deps.store, commissionId('o-lock', 'kol-lock')))!.state).toBe('available');
    expect(await balanceOf(h.deps, 'kol-lock')).toMatchObject({ locked: 0, available: 1000 });
    await h.sweep();
    expect(await balanceOf(h.deps, 'kol-lock')).toMatchObject({ locked: 0, available: 1000 });
  });

  it('locks the reversal of a locked commission with it, and they unlock together', async () => {
    await deliver(
      h.deps,
      orderAttributed(clock, { orderId: 'o-rl', kolId: 'kol-rl', commission: 1000, lockSeconds: 60 }),
    );
    await deliver(h.deps, orderRefunded(clock, { orderId: 'o-rl', refundId: 'r-rl', kolId: 'kol-rl', reversal: 400 }));
    expect(await balanceOf(h.deps, 'kol-rl')).toMatchObject({ locked: 600, available: 0 });
    const rev = await findEntry(h.deps.store, reversalId('o-rl', 'r-rl', 'kol-rl'));
    expect(rev).toMatchObject({
      amount: -400,
      state: 'locked',
      kind: 'commission_reversal',
      cause: { type: 'refund', id: 'o-rl r-rl' },
    });
    clock.advance(61);
    await h.sweep();
    expect(await balanceOf(h.deps, 'kol-rl')).toMatchObject({ locked: 0, available: 600 });
  });

  it('parks a refund that arrives before its commission and applies it when the commission lands', async () => {
    await deliver(
      h.deps,
      orderRefunded(clock, { orderId: 'o-early', refundId: 'r-early', kolId: 'kol-early', reversal: 300 }),
    );
    expect(await findEntry(h.deps.store, reversalId('o-early', 'r-early', 'kol-early'))).toBeUndefined();
    await deliver(
      h.deps,
      orderRefunded(clock, { orderId: 'o-early', refundId: 'r-early', kolId: 'kol-early', reversal: 300 }),
    );
    await deliver(h.deps, orderAttributed(clock, { orderId: 'o-early', kolId: 'kol-early', commission: 1000 }));
    expect(await balanceOf(h.deps, 'kol-early')).toMatchObject({ available: 700 });
    expect(await findEntry(h.deps.store, reversalId('o-early', 'r-early', 'kol-early'))).toMatchObject({
      amount: -300,
      state: 'available',
    });
    await deliver(
      h.deps,
      orderRefunded(clock, { orderId: 'o-early', refundId: 'r-early', kolId: 'kol-early', reversal: 300 }),
    );
    expect(await balanceOf(h.deps, 'kol-early')).toMatchObject({ available: 700 });
  });

  it('applies any number of refunds that arrived first, parked at once, when the commission lands', async () => {
    // More than one transaction can take: before, the commission's one transaction passed 100 items and never landed.
    const refunds = Array.from({ length: 110 }, (_, i) =>
      orderRefunded(clock, { orderId: 'o-many', refundId: `r-many-${i}`, kolId: 'kol-many', reversal: 3 }),
    );
    await Promise.all(refunds.map((e) => deliver(h.deps, e)));
    const parked = () => h.deps.store.queryAll({ pk: ledgerPendingReversalPk(commissionId('o-many', 'kol-many')) });
    expect(await parked()).toHaveLength(110);
    const attributed = orderAttributed(clock, { orderId: 'o-many', kolId: 'kol-many', commission: 1000 });
    await Promise.all([
      deliver(h.deps, attributed),
      deliver(h.deps, attributed),
      ...refunds.slice(0, 10).map((e) => deliver(h.deps, e)),
    ]);
    expect(await balanceOf(h.deps, 'kol-many')).toMatchObject({ locked: 0, available: 1000 - 110 * 3 });
    const commission = await findEntry(h.deps.store, commissionId('o-many', 'kol-many'));
    expect(commission).toMatchObject({ reversed: 330 });
    expect(new Set(commission!.reversalIds).size).toBe(110);
    const ids = refunds.map((e) => reversalId('o-many', e.detail.refundId, 'kol-many'));
    expect((await findEntries(h.deps.store, ids)).map((e) => e.amount)).toEqual(Array(110).fill(-3));
    expect(await parked()).toEqual([]);
    await Promise.all([deliver(h.deps, attributed), ...refunds.slice(50, 60).map((e) => deliver(h.deps, e))]);
    await h.sweep();
    expect(await balanceOf(h.deps, 'kol-many')).toMatchObject({ locked: 0, available: 670 });
  }, 180_000);

  it('applies the refunds a stopped commission consumer left parked when its event is redelivered', async () => {
    const refunds = Array.from({ length: 60 }, (_, i) =>
      orderRefunded(clock, { orderId: 'o-cut', refundId: `r-cut-${i}`, kolId: 'kol-cut', reversal: 5 }),
    );
    for (const e of refunds) await deliver(h.deps, e);
    // The consumer stops after its second transaction: the commission and the first refunds are in.
    let transactions = 0;
    const stopping = Object.create(h.deps.store) as Store;
    stopping.transact = async (items) => {
      if (++transactions > 2) throw new Error('Lambda timed out');
      await h.deps.store.transact(items);
    };
    const attributed = orderAttributed(clock, { orderId: 'o-cut', kolId: 'kol-cut', commission: 1000 });
    await expect(deliver({ ...h.deps, store: stopping }, attributed)).rejects.toThrow('Lambda timed out');
    // Locked while refunds are still parked for it: the sweep leaves it locked, a payout leaves it out.
    expect(await balanceOf(h.deps, 'kol-cut')).toMatchObject({ locked: 1000 - 2 * REVERSALS_PER_TX * 5, available: 0 });
    clock.advance(60);
    await h.sweep();
    expect(await balanceOf(h.deps, 'kol-cut')).toMatchObject({ locked: 750, available: 0 });
    expect((await createPayout(h.deps, { asset: 'cash', minAmount: 1 })).items.map((i) => i.payeeId)).not.toContain(
      'kol-cut',
    );
    await deliver(h.deps, attributed);
    await h.sweep();
    expect(await balanceOf(h.deps, 'kol-cut')).toMatchObject({ locked: 0, available: 1000 - 60 * 5 });
    expect((await reconcileLedger(h.deps, {})).ok).toBe(true);
  }, 180_000);

  it('applies 100 refunds of one order arriving at once after the commission, each once', async () => {
    await deliver(h.deps, orderAttributed(clock, { orderId: 'o-burst', kolId: 'kol-burst', commission: 1000 }));
    const refunds = Array.from({ length: 100 }, (_, i) =>
      orderRefunded(clock, { orderId: 'o-burst', refundId: `r-burst-${i}`, kolId: 'kol-burst', reversal: 7 }),
    );
    await Promise.all([...refunds, ...refunds.slice(0, 30)].map((e) => deliver(h.deps, e)));
    expect(await balanceOf(h.deps, 'kol-burst')).toMatchObject({ available: 300 });
    const commission = await findEntry(h.deps.store, commissionId('o-burst', 'kol-burst'));
    expect(commission).toMatchObject({ reversed: 700 });
    expect(new Set(commission!.reversalIds).size).toBe(100);
  }, 180_000);

  it('takes back no more than the commission when refunds of one order race past it', async () => {
    await deliver(h.deps, orderAttributed(clock, { orderId: 'o-over', kolId: 'kol-over', commission: 100 }));
    const refunds = Array.from({ length: 40 }, (_, i) =>
      orderRefunded(clock, { orderId: 'o-over', refundId: `r-over-${i}`, kolId: 'kol-over', reversal: 3 }),
    );
    await Promise.all(refunds.map((e) => deliver(h.deps, e)));
    expect(await balanceOf(h.deps, 'kol-over')).toMatchObject({ available: 0 });
    expect(await findEntry(h.deps.store, commissionId('o-over', 'kol-over'))).toMatchObject({ reversed: 100 });
    expect((await reconcileLedger(h.deps, {})).ok).toBe(true);
  }, 180_000);

  it('reverses refunds of two orders that share a refund id, each once (refund ids are unique per order)', async () => {
    await deliver(h.deps, orderAttributed(clock, { orderId: 'o-dup1', kolId: 'kol-dup', commission: 1000 }));
    const first = orderRefunded(clock, { orderId: 'o-dup1', refundId: 'refund-1', kolId: 'kol-dup', reversal: 300 });
    await deliver(h.deps, first);
    // The second order's refund comes before its commission, and is parked.
    await deliver(
      h.deps,
      orderRefunded(clock, { orderId: 'o-dup2', refundId: 'refund-1', kolId: 'kol-dup', reversal: 700 }),
    );
    await deliver(h.deps, orderAttributed(clock, { orderId: 'o-dup2', kolId: 'kol-dup', commission: 1000 }));
    await deliver(h.deps, first);
    expect(await balanceOf(h.deps, 'kol-dup')).toMatchObject({ available: 2000 - 300 - 700 });
    expect(await findEntry(h.deps.store, reversalId('o-dup2', 'refund-1', 'kol-dup'))).toMatchObject({
      amount: -700,
      cause: { type: 'refund', id: 'o-dup2 refund-1' },
    });
  });

  it('unlocks a commission with the reversal of a refund that lands while the sweep is unlocking it', async () => {
    const cid = commissionId('o-ur', 'kol-ur');
    await deliver(
      h.deps,
      orderAttributed(clock, { orderId: 'o-ur', kolId: 'kol-ur', commission: 1000, lockSeconds: 60 }),
    );
    clock.advance(61);
    // The refund's consumer runs while the unlock is between its reads and its writes.
    let fired = false;
    const racing = Object.create(h.deps.store) as Store;
    racing.query = (async (q) => {
      if (!fired && q.pk === ledgerPendingReversalPk(cid)) {
        fired = true;
        await deliver(
          h.deps,
          orderRefunded(clock, { orderId: 'o-ur', refundId: 'r-ur', kolId: 'kol-ur', reversal: 400 }),
        );
      }
      return h.deps.store.query(q);
    }) as Store['query'];
    expect(await unlockEntry({ ...h.deps, store: racing }, cid)).toBe(true);
    expect((await findEntry(h.deps.store, cid))!.state).toBe('available');
    expect((await findEntry(h.deps.store, reversalId('o-ur', 'r-ur', 'kol-ur')))!.state).toBe('available');
    expect(await balanceOf(h.deps, 'kol-ur')).toMatchObject({ locked: 0, available: 600 });
  });

  it('keeps a commission locked when a refund parks while it is being written and the consumer stops', async () => {
    const cid = commissionId('o-ar', 'kol-ar');
    await deliver(
      h.deps,
      orderRefunded(clock, { orderId: 'o-ar', refundId: 'r-ar-1', kolId: 'kol-ar', reversal: 100 }),
    );
    // A second refund parks after the commission's consumer read the parked ones; the consumer
    // stops after writing the commission, before applying the rest.
    let reads = 0;
    const racing = Object.create(h.deps.store) as Store;
    racing.query = (async (q) => {
      if (q.pk !== ledgerPendingReversalPk(cid)) return h.deps.store.query(q);
      if (++reads > 1) throw new Error('the consumer stopped');
      const page = await h.deps.store.query(q);
      await deliver(
        h.deps,
        orderRefunded(clock, { orderId: 'o-ar', refundId: 'r-ar-2', kolId: 'kol-ar', reversal: 500 }),
      );
      return page;
    }) as Store['query'];
    const attributed = orderAttributed(clock, { orderId: 'o-ar', kolId: 'kol-ar', commission: 1000, lockSeconds: 0 });
    await expect(deliver({ ...h.deps, store: racing }, attributed)).rejects.toThrow('the consumer stopped');
    expect(await balanceOf(h.deps, 'kol-ar')).toMatchObject({ locked: 900, available: 0 });
    await h.sweep();
    expect((await createPayout(h.deps, { asset: 'cash', minAmount: 1 })).items.map((i) => i.payeeId)).not.toContain(
      'kol-ar',
    );
    await deliver(h.deps, attributed);
    expect(await balanceOf(h.deps, 'kol-ar')).toMatchObject({ locked: 0, available: 400 });
  });

  it('never reverses more than the commission across partial refunds', async () => {
    await deliver(h.deps, orderAttributed(clock, { orderId: 'o-part', kolId: 'kol-part', commission: 500 }));
    await deliver(
      h.deps,
      orderRefunded(clock, { orderId: 'o-part', refundId: 'r-p1', kolId: 'kol-part', reversal: 300 }),
    );
    await deliver(
      h.deps,
      orderRefunded(clock, { orderId: 'o-part', refundId: 'r-p2', kolId: 'kol-part', reversal: 300 }),
    );
    expect(await balanceOf(h.deps, 'kol-part')).toMatchObject({ available: 0 });
    expect((await findEntry(h.deps.store, reversalId('o-part', 'r-p2', 'kol-part')))!.amount).toBe(-200);
  });

  it('keeps held rewards in `held`, out of available, until finance decides', async () => {
    await deliver(
      h.deps,
      inviteQualified(clock, { inviteId: 'inv_h', inviterId: 'hank', inviteeId: 'ivy', held: true }),
    );
    expect(await balanceOf(h.deps, 'hank')).toMatchObject({ held: 500, available: 0 });
    expect((await findEntry(h.deps.store, entryIdFor('invite', 'inv_h', 'hank', 'invite_inviter')))!.held).toBe(true);
  });

  it('records group-buy and bargain outcomes for finance once per event, with no ledger entry', async () => {
    const e = buildEvent(
      'BargainCompleted',
      { chainId: 'brg_1', campaignId: 'cmp_b', initiatorId: 'u1', sku: 's', price: 500, entitlementId: 'ent_1' },
      clock,
    );
    await deliver(h.deps, e);
    await deliver(h.deps, e);
    const item = await h.deps.store.get(financeActivityKey(e.detail.eventId), true);
    expect(item).toMatchObject({ type: 'BargainCompleted', detail: { chainId: 'brg_1', price: 500 } });
    expect(await balanceOf(h.deps, 'u1')).toMatchObject({ available: 0 });
  });

  it('settles events written to the outbox as producers do, carried by the local bus', async () => {
    await h.deps.store.transact([
      outboxPut(
        'OrderAttributed',
        {
          ...orderAttributed(clock, { orderId: 'o-bus', kolId: 'kol-bus', commission: 1234 }).detail,
        },
        clock,
      ),
      outboxPut(
        'GroupBuyFailed',
        {
          groupId: 'grp_1',
          campaignId: 'cmp_g',
          leaderId: 'u2',
          reason: 'expired',
          refunds: [{ userId: 'u2', orderId: 'o9' }],
        },
        clock,
      ),
    ]);
    await h.drain();
    expect(await balanceOf(h.deps, 'kol-bus')).toMatchObject({ available: 1234 });
    expect(h.bus.stats.deadLettered).toBe(0);
  });

  it('reconciles: balances equal their entries and no cause is settled twice', async () => {
    const r = await reconcileLedger(h.deps, {});
    expect(r.checks.filter((c) => !c.ok)).toEqual([]);
    expect(r.ok).toBe(true);
    const period = await reconcileLedger(h.deps, { from: '2026-11-24T00:00:00.000Z', to: '2026-11-25T00:00:00.000Z' });
    expect(period.totals.activity).toEqual({ BargainCompleted: 1, GroupBuyFailed: 1 });
  });
});
