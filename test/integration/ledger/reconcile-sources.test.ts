import { beforeAll, describe, expect, it } from 'vitest';
import { consumers as allConsumers } from '#functions/consumers/index';
import { ledgerOrderAttributedConsumer } from '#functions/consumers/ledger-order-attributed';
import { iso } from '#shared/clock';
import { reversalIdFor } from '#shared/domain/ledger/apply-reversals';
import { entryIdFor } from '#shared/domain/ledger/rules';
import type { Consumer } from '#shared/events/consumer';
import { ledgerEntryKey } from '#shared/store/keys';
import { createHarness, type Harness, ManualClock } from '../../support/harness.ts';
import { inviteCampaign } from '../invites/support.ts';
import { commissionCampaign, kolLink, paidThroughLink, refundOf } from '../orders/support.ts';

/**
 * Reconciliation cross-checks what owes money: an order that earned a commission, a refund that
 * reverses some, or an invite that qualified with a reward, whose entry never reached the ledger
 * (its event lost, or waiting in the dead letters) fails `attributed_orders_in_ledger` or
 * `rewarded_invites_in_ledger` once it is older than the 15-minute grace.
 */
describe('Reconciliation against the orders and invites', () => {
  let h: Harness;
  let clock: ManualClock;
  let code: string;
  let n = 0;

  const paid = (amount: number) => paidThroughLink(h, code, `x-${++n}`, amount);
  const reconcile = async (query = '') => {
    const r = await h.call('GET', `/v1/finance/reconciliation${query}`, { token: h.token('fin-x', ['finance']) });
    expect(r.status).toBe(200);
    const named = (name: string) => r.body.checks.find((c: { name: string }) => c.name === name);
    return { ...r.body, check: named('attributed_orders_in_ledger'), invites: named('rewarded_invites_in_ledger') };
  };

  beforeAll(async () => {
    clock = new ManualClock();
    h = await createHarness({ clock });
    code = await kolLink(h, 'kol-x', await commissionCampaign(h, { rateBps: 1000, lockSeconds: 0 }));
  });

  it('counts entries still on their way as settling, fails them past the grace, and passes once they land', async () => {
    const a = await paid(10_000);
    const b = await paid(2_000);
    const tiny = await paid(5); // a commission of 0: nothing to settle
    expect([a.commission, b.commission, tiny.commission]).toEqual([1000, 200, 0]);
    const refund = await refundOf(h, a.orderId, 'rf-1', 2_500);
    expect(refund.body.reversal).toBe(250);

    const early = await reconcile();
    expect(early.ok).toBe(true);
    expect(early.check.ok).toBe(true);
    expect(early.totals.sources).toMatchObject({ orders: { orders: 2, refunds: 1, settling: 2 }, graceMinutes: 15 });
    expect(early.check.detail).toContain('2 recorded in the last 15 minutes still settling');

    clock.advance(16 * 60);
    const late = await reconcile();
    expect(late.ok).toBe(false);
    expect(late.check.ok).toBe(false);
    expect(late.check.detail).toContain(`order ${a.orderId}: commission 1000 to kol-x is not in the ledger`);
    expect(late.check.detail).toContain(`order ${b.orderId}: commission 200 to kol-x is not in the ledger`);
    expect(late.check.detail).not.toContain(tiny.orderId);
    // The refund waits for its commission: the missing commission says it all.
    expect(late.check.detail).not.toContain('rf-1');

    await h.drain();
    const settled = await reconcile();
    expect(settled.ok).toBe(true);
    expect(settled.totals.sources.orders).toEqual({ orders: 2, refunds: 1, settling: 0 });
    expect(settled.check.detail).toMatch(
      /^2 orders with commission recorded .* and 1 refunds reversing commission are in the ledger$/,
    );
  });

  it('fails a refund whose reversal is missing while its commission has some left to take back', async () => {
    const c = await paid(30_000);
    await h.drain();
    const r = await refundOf(h, c.orderId, 'rf-lost', 3_000);
    expect(r.body.reversal).toBe(300);
    clock.advance(16 * 60);
    const waiting = await reconcile();
    expect(waiting.check.ok).toBe(false);
    expect(waiting.check.detail).toBe(`order ${c.orderId} refund rf-lost: reversal of 300 is not in the ledger`);
    await h.drain();
    expect((await reconcile()).ok).toBe(true);

    // A reversal entry of another amount is named.
    const key = ledgerEntryKey(reversalIdFor(c.orderId, 'rf-lost', 'kol-x'));
    await h.deps.store.update({ key, update: 'SET amount = :a', values: { ':a': -299 } });
    const off = await reconcile();
    expect(off.check.detail).toBe(
      `order ${c.orderId} refund rf-lost: reverses 300 from kol-x, but entry ${reversalIdFor(c.orderId, 'rf-lost', 'kol-x')} is -299 to kol-x`,
    );

    // An entry that vanished from the ledger is reported too (and so is the balance it leaves off).
    await h.deps.store.delete(ledgerEntryKey(reversalIdFor(c.orderId, 'rf-lost', 'kol-x')));
    const gone = await reconcile();
    expect(gone.check.detail).toBe(`order ${c.orderId} refund rf-lost: reversal of 300 is not in the ledger`);
  });

  it('fails a rewarded invite whose entries never landed, past the grace, on either path to qualifying', async () => {
    const campaign = (qualifyingAction: string) =>
      inviteCampaign(h, { inviteeReward: { asset: 'cash', amount: 0 }, qualifyingAction });
    const invite = async (campaignId: string, inviter: string, invitee: string) => {
      const code = (await h.call('POST', '/v1/invites', { token: h.token(inviter), body: { campaignId } })).body.code;
      const r = await h.call('POST', `/v1/invites/${code}/accept`, { token: h.token(invitee) });
      expect(r.status).toBe(201);
      return r.body.inviteId as string;
    };
    await h.drain();
    const base = (await reconcile()).totals.sources.invites.invites as number;

    // Qualified on accept (signup): one side has a reward, the other 0 and owes nothing.
    const onAccept = await invite(await campaign('signup'), 'inv-a', 'new-a');
    const early = await reconcile();
    expect(early.totals.sources.invites).toEqual({ invites: base + 1, settling: 1 });
    expect(early.invites.ok).toBe(true);
    clock.advance(16 * 60);
    const late = await reconcile();
    expect(late.invites.ok).toBe(false);
    expect(late.invites.detail).toBe(`invite ${onAccept}: 100 points to inv-a is not in the ledger`);
    await h.drain();
    expect((await reconcile()).invites.ok).toBe(true);

    // Qualified by the invitee's first paid order: counted once the order qualifies it.
    const onOrder = await invite(await campaign('first_order'), 'inv-b', 'new-b');
    await h.drain();
    expect((await reconcile()).totals.sources.invites.invites).toBe(base + 1);
    const paid = await h.hook('/v1/orders/paid', {
      orderId: 'ord-new-b',
      userId: 'new-b',
      amount: 1999,
      paidAt: iso(clock.now()),
    });
    expect(paid.status).toBe(201);
    await h.drain(); // OrderPaid qualifies the invite, and its InviteQualified is delivered too
    const after = await reconcile();
    expect(after.totals.sources.invites).toEqual({ invites: base + 2, settling: 0 });
    expect(after.invites).toMatchObject({ ok: true });
    expect(after.invites.detail).toContain(`${base + 2} invites rewarded`);

    // An entry of it that vanished is named, once the invite is past the grace.
    clock.advance(16 * 60);
    await h.deps.store.delete(ledgerEntryKey(entryIdFor('invite', onOrder, 'inv-b', 'invite_inviter')));
    expect((await reconcile()).invites.detail).toBe(`invite ${onOrder}: 100 points to inv-b is not in the ledger`);
  });

  it('checks the orders recorded in the period asked for', async () => {
    const day = iso(clock.now()).slice(0, 10);
    const today = await reconcile(`?from=${day}T00:00:00.000Z&to=${day}T23:59:59.999Z`);
    expect(today.totals.sources).toMatchObject({ orders: { orders: 3 }, from: `${day}T00:00:00.000Z` });
    const before = await reconcile('?from=2026-10-01T00:00:00.000Z&to=2026-10-31T23:59:59.999Z');
    expect(before.totals.sources).toMatchObject({ orders: { orders: 0, refunds: 0 }, invites: { invites: 0 } });
    expect(before.check.ok).toBe(true);
  });
  it('fails a lost reversal of an order recorded before the period, by its own day', async () => {
    const old = await paid(50_000);
    await h.drain();
    clock.advance(40 * 86_400);
    const r = await refundOf(h, old.orderId, 'rf-late', 5_000);
    expect(r.body.reversal).toBe(500);
    clock.advance(16 * 60);
    const day = iso(clock.now()).slice(0, 10);
    const text = `order ${old.orderId} refund rf-late: reversal of 500 is not in the ledger`;
    for (const query of ['', `?from=${day}T00:00:00.000Z&to=${iso(clock.now())}`]) {
      const report = await reconcile(query);
      expect(report.totals.sources.orders).toEqual({ orders: 0, refunds: 1, settling: 0 });
      expect(report.check.detail).toBe(text);
    }
    await h.drain();
    expect((await reconcile()).check.ok).toBe(true);
  });
});

describe('Reconciliation with a longer settling grace (SETTLE_GRACE_MINUTES)', () => {
  it('counts a missing entry as settling until the grace has passed', async () => {
    const clock = new ManualClock();
    const h = await createHarness({ clock, env: { SETTLE_GRACE_MINUTES: '120' } });
    const code = await kolLink(h, 'kol-g', await commissionCampaign(h, { rateBps: 1000 }));
    const { orderId } = await paidThroughLink(h, code, 'g-1', 1_000);
    const check = async () => {
      const r = await h.call('GET', '/v1/finance/reconciliation', { token: h.token('fin-g', ['finance']) });
      return r.body.checks.find((c: { name: string }) => c.name === 'attributed_orders_in_ledger');
    };
    clock.advance(119 * 60);
    expect(await check()).toMatchObject({
      ok: true,
      detail: expect.stringContaining('1 recorded in the last 120 minutes'),
    });
    clock.advance(2 * 60);
    expect(await check()).toMatchObject({
      ok: false,
      detail: `order ${orderId}: commission 100 to kol-g is not in the ledger`,
    });
  });
});

describe('Reconciliation and the dead letters', () => {
  it('fails a missing commission at once when its event is in the dead letters, naming the letter, and passes after its redrive', async () => {
    let failing = true;
    const flaky: Consumer = {
      ...ledgerOrderAttributedConsumer,
      async handle(event, deps) {
        if (failing) throw new Error('ledger unavailable');
        await ledgerOrderAttributedConsumer.handle(event, deps);
      },
    };
    const consumers = allConsumers.map((c) => (c.name === flaky.name ? flaky : c));
    const h = await createHarness({ consumers });
    const code = await kolLink(h, 'kol-d', await commissionCampaign(h, { rateBps: 1000 }));
    const { orderId } = await paidThroughLink(h, code, 'd-1', 2_000);
    await h.drain();
    const admin = h.token('admin-d', ['admin']);
    const letters = (await h.call('GET', '/v1/admin/dead-letters', { token: admin })).body.items;
    expect(letters).toHaveLength(1);
    const check = async () => {
      const r = await h.call('GET', '/v1/finance/reconciliation', { token: h.token('fin-d', ['finance']) });
      return r.body.checks.find((c: { name: string }) => c.name === 'attributed_orders_in_ledger');
    };
    expect(await check()).toEqual({
      name: 'attributed_orders_in_ledger',
      ok: false,
      detail: `order ${orderId}: commission 200 to kol-d is not in the ledger; its OrderAttributed is in the dead letters (${letters[0].id})`,
    });
    failing = false;
    const redriven = await h.call('POST', `/v1/admin/dead-letters/${letters[0].id}/redrive`, { token: admin });
    expect(redriven.body.status).toBe('redriven');
    expect(await check()).toMatchObject({ ok: true });
  });
});
