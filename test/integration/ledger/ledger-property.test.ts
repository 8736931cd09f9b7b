import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { confirmPayout } from '#shared/domain/ledger/confirm-payout';
import { createPayout } from '#shared/domain/ledger/create-payout';
import { failPayoutItem } from '#shared/domain/ledger/fail-payout-item';
import { reconcileLedger } from '#shared/domain/ledger/reconcile';
import { rejectHold } from '#shared/domain/ledger/reject-hold';
import { releaseHold } from '#shared/domain/ledger/release-hold';
import { AppError } from '#shared/errors';
import { listPayoutItems } from '#shared/store/ledger';
import { createHarness, type Harness, ManualClock } from '../../support/harness.ts';
import { commissionId, deliver, orderAttributed, orderRefunded } from './events.ts';

const PAYEES = ['kp-1', 'kp-2', 'kp-3'];

const command = fc.oneof(
  fc.record({
    op: fc.constant('grant' as const),
    payee: fc.constantFrom(...PAYEES),
    amount: fc.integer({ min: 1, max: 500 }),
    lock: fc.constantFrom(0, 60),
    held: fc.boolean(),
  }),
  fc.record({ op: fc.constant('refund' as const), order: fc.nat(), amount: fc.integer({ min: 1, max: 400 }) }),
  fc.record({ op: fc.constant('unlock' as const) }),
  fc.record({ op: fc.constant('payout' as const), min: fc.constantFrom(0, 100, 300) }),
  fc.record({ op: fc.constant('confirm' as const), pick: fc.nat() }),
  fc.record({ op: fc.constant('fail' as const), pick: fc.nat(), payee: fc.constantFrom(...PAYEES) }),
  fc.record({ op: fc.constant('decide' as const), order: fc.nat(), release: fc.boolean() }),
);

describe('Ledger property: any sequence of grants, refunds, unlocks, payouts, confirmations and failures', () => {
  let h: Harness;
  let clock: ManualClock;
  beforeAll(async () => {
    clock = new ManualClock();
    h = await createHarness({ clock });
  });

  it('keeps Σ entries == Σ balances and never lists an entry on two live payout lines', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 12 }), async (cmds) => {
        run++;
        const orders: { id: string; payee: string }[] = [];
        const payouts: string[] = [];
        for (const [i, c] of cmds.entries()) {
          try {
            if (c.op === 'grant') {
              const id = `r${run}-o${i}`;
              orders.push({ id, payee: c.payee });
              const e = orderAttributed(clock, {
                orderId: id,
                kolId: c.payee,
                commission: c.amount,
                lockSeconds: c.lock,
                held: c.held,
              });
              await deliver(h.deps, e);
            } else if (c.op === 'refund' && orders.length) {
              const o = orders[c.order % orders.length]!;
              await deliver(
                h.deps,
                orderRefunded(clock, { orderId: o.id, refundId: `r${run}-f${i}`, kolId: o.payee, reversal: c.amount }),
              );
            } else if (c.op === 'unlock') {
              clock.advance(61);
              while ((await h.sweep()) > 0);
            } else if (c.op === 'payout') {
              payouts.push((await createPayout(h.deps, { asset: 'cash', minAmount: c.min })).id);
            } else if (c.op === 'confirm' && payouts.length) {
              await confirmPayout(h.deps, payouts[c.pick % payouts.length]!, `ref-${payouts[c.pick % payouts.length]}`);
            } else if (c.op === 'fail' && payouts.length) {
              await failPayoutItem(h.deps, {
                payoutId: payouts[c.pick % payouts.length]!,
                payeeId: c.payee,
                reason: 'bounced',
              });
            } else if (c.op === 'decide' && orders.length) {
              const o = orders[c.order % orders.length]!;
              await (c.release ? releaseHold : rejectHold)(h.deps, commissionId(o.id, o.payee));
            }
          } catch (e) {
            if (!(e instanceof AppError) || ![404, 409].includes(e.status)) throw e;
          }
        }
        const rec = await reconcileLedger(h.deps, {});
        expect(rec.checks.filter((x) => !x.ok)).toEqual([]);
        const live = new Map<string, string>();
        for (const p of payouts)
          for (const line of await listPayoutItems(h.deps.store, p))
            if (line.status !== 'failed')
              for (const id of line.entryIds) {
                expect(live.get(id), `${id} on ${live.get(id)} and ${p}`).toBeUndefined();
                live.set(id, p);
              }
      }),
      { numRuns: 10, seed: 20261124 },
    );
  }, 240_000);
});
