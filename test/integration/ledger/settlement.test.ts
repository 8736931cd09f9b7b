import { beforeAll, describe, expect, it } from 'vitest';
import { reconcileLedger } from '#shared/domain/ledger/reconcile';
import { entryIdFor } from '#shared/domain/ledger/rules';
import { buildEvent, outboxPut } from '#shared/events/outbox';
import { financeActivityKey } from '#shared/store/keys';
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
    const rev = await findEntry(h.deps.store, reversalId('r-rl', 'kol-rl'));
    expect(rev).toMatchObject({
      amount: -400,
      state: 'locked',
      kind: 'commission_reversal',
      cause: { type: 'refund', id: 'r-rl' },
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
    expect(await findEntry(h.deps.store, reversalId('r-early', 'kol-early'))).toBeUndefined();
    await deliver(
      h.deps,
      orderRefunded(clock, { orderId: 'o-early', refundId: 'r-early', kolId: 'kol-early', reversal: 300 }),
    );
    await deliver(h.deps, orderAttributed(clock, { orderId: 'o-early', kolId: 'kol-early', commission: 1000 }));
    expect(await balanceOf(h.deps, 'kol-early')).toMatchObject({ available: 700 });
    expect(await findEntry(h.deps.store, reversalId('r-early', 'kol-early'))).toMatchObject({
      amount: -300,
      state: 'available',
    });
    await deliver(
      h.deps,
      orderRefunded(clock, { orderId: 'o-early', refundId: 'r-early', kolId: 'kol-early', reversal: 300 }),
    );
    expect(await balanceOf(h.deps, 'kol-early')).toMatchObject({ available: 700 });
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
    expect((await findEntry(h.deps.store, reversalId('r-p2', 'kol-part')))!.amount).toBe(-200);
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
