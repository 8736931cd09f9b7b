import { beforeAll, describe, expect, it } from 'vitest';
import { createPayout } from '#shared/domain/ledger/create-payout';
import { reconcileLedger } from '#shared/domain/ledger/reconcile';
import { payoutPk } from '#shared/store/keys';
import { createHarness, type Harness, ManualClock } from '../../support/harness.ts';
import { deliver, orderAttributed } from './events.ts';

type Report = Awaited<ReturnType<typeof reconcileLedger>>;
const failing = (r: Report) => r.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);

describe('Reconciliation of payout lines written before pages carried amounts', () => {
  let h: Harness;
  let clock: ManualClock;
  beforeAll(async () => {
    clock = new ManualClock();
    h = await createHarness({ clock });
  });

  it('passes a correct payout whose pages were written by the previous version (entryIds, no amount)', async () => {
    // Prepare: a correct payout of one payee, as the version before 04fbc29 wrote it: pages without `amount`.
    for (let j = 0; j < 3; j++)
      await deliver(
        h.deps,
        orderAttributed(clock, { orderId: `old-page-${j}`, kolId: 'kol-oldpage', commission: 100 }),
      );
    const payout = await createPayout(h.deps, { asset: 'cash', minAmount: 1 });
    const items = await h.deps.store.queryAll({ pk: payoutPk(payout.id), sk: { beginsWith: 'ITEMPAGE#' } });
    expect(items.length).toBeGreaterThan(0);
    for (const i of items)
      await h.deps.store.update({ key: { pk: String(i.pk), sk: String(i.sk) }, update: 'REMOVE amount' });

    // Act
    const report = await reconcileLedger(h.deps, {});

    // Assess: nothing is wrong with this ledger.
    expect(failing(report)).toEqual([]);
  });
});
