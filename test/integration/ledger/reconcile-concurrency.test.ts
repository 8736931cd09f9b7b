import { beforeAll, describe, expect, it } from 'vitest';
import { sweepTasks } from '#functions/sweeper/tasks';
import { confirmPayout } from '#shared/domain/ledger/confirm-payout';
import { createPayout } from '#shared/domain/ledger/create-payout';
import { failPayoutItem } from '#shared/domain/ledger/fail-payout-item';
import { reconcileLedger } from '#shared/domain/ledger/reconcile';
import { ledgerBalanceKey, payoutKey } from '#shared/store/keys';
import { sweepOnce } from '#shared/sweeper';
import { createHarness, type Harness, ManualClock } from '../../support/harness.ts';
import { deliver, inviteQualified, orderAttributed } from './events.ts';

const KOLS = 16;
const PER_KOL = 5;

type Report = Awaited<ReturnType<typeof reconcileLedger>>;
const failing = (r: Report) => r.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);

/**
 * Runs reconciliations (all time and by period, alternately) until `writes` settles; answers every
 * report. `writes` gets `started(n)`, which waits until the n-th reconciliation has begun, so a
 * write can be made to land while one is under way however fast either side runs.
 */
async function reconcileWhile(
  h: Harness,
  writes: (started: (n: number) => Promise<void>) => Promise<unknown>,
): Promise<Report[]> {
  let writing = true;
  let begun = 0;
  const waiting: { n: number; go: () => void }[] = [];
  const started = (n: number) => new Promise<void>((go) => (begun >= n ? go() : waiting.push({ n, go })));
  const done = writes(started).finally(() => {
    writing = false;
  });
  const reports: Report[] = [];
  const reader = (async () => {
    for (let i = 0; writing || i < 2; i++) {
      const report = reconcileLedger(
        h.deps,
        i % 2 ? { from: '2026-11-24T00:00:00.000Z', to: new Date(h.clock.now()).toISOString() } : {},
      );
      begun++;
      for (const w of waiting.filter((x) => x.n <= begun)) w.go();
      reports.push(await report);
    }
  })();
  await Promise.all([done, reader]);
  return reports;
}

/** Sweeps a few entries per shard at a time until nothing is due, so unlocks land all through the reads. */
async function unlockAll(h: Harness): Promise<void> {
  while ((await sweepOnce(h.deps, sweepTasks, 3)) > 0);
}

describe('Reconciliation: reports only mismatches that hold on a stable read', () => {
  let h: Harness;
  let clock: ManualClock;

  beforeAll(async () => {
    clock = new ManualClock();
    h = await createHarness({ clock });
  });

  it('reports ok on every run while the sweeper unlocks entries and payouts are created, failed and confirmed', async () => {
    // Prepare: many locked commissions, some available ones, and the clock past every unlockAt.
    await Promise.all(
      Array.from({ length: KOLS }, async (_, k) => {
        for (let j = 0; j < PER_KOL; j++)
          await deliver(
            h.deps,
            orderAttributed(clock, {
              orderId: `o-${k}-${j}`,
              kolId: `kol-${k}`,
              commission: 100 + j,
              lockSeconds: j < 2 ? 0 : 60,
            }),
          );
      }),
    );
    clock.advance(120);

    // Act: unlocking and paying out, both at once, while reconciliations run.
    const payouts = async (started: (n: number) => Promise<void>) => {
      for (let round = 0; round < 2; round++) {
        await started(round + 2); // each round lands under a reconciliation that began after the last
        const p = await createPayout(h.deps, { asset: 'cash', minAmount: 100 });
        if (p.items.length > 1)
          await failPayoutItem(h.deps, { ...p.items[0]!, payoutId: p.id, reason: 'bank said no' });
        if (p.items.length > 0) await confirmPayout(h.deps, p.id, `BANK-${round}`);
      }
    };
    const reports = await reconcileWhile(h, (started) => Promise.all([unlockAll(h), payouts(started)]));

    // Assess: every reconciliation agreed, and the writes did happen underneath them.
    expect(reports.length).toBeGreaterThan(2);
    expect(reports.flatMap(failing)).toEqual([]);
    const last = await reconcileLedger(h.deps, {});
    expect(last.ok).toBe(true);
    expect(last.totals).toMatchObject({ entries: KOLS * PER_KOL, payouts: 2 });
  }, 180_000);

  it('still reports a balance written out of step with its entries, and a payout whose total disagrees with its lines', async () => {
    // Prepare: one quiet payee whose balance is off by 1, more locked entries for the sweeper to unlock.
    await deliver(h.deps, orderAttributed(clock, { orderId: 'o-quiet', kolId: 'kol-quiet', commission: 500 }));
    await Promise.all(
      Array.from({ length: KOLS }, (_, k) =>
        deliver(
          h.deps,
          orderAttributed(clock, { orderId: `o2-${k}`, kolId: `kol-${k}`, commission: 300, lockSeconds: 60 }),
        ),
      ),
    );
    await h.deps.store.update({
      key: ledgerBalanceKey('kol-quiet', 'cash'),
      update: 'ADD available :x',
      values: { ':x': 1 },
    });
    const paid = await createPayout(h.deps, { asset: 'cash', minAmount: 100 });
    await h.deps.store.update({
      key: payoutKey(paid.id),
      update: 'ADD #total :x',
      names: { '#total': 'total' },
      values: { ':x': 7 },
    });
    clock.advance(120);

    // Act: reconcile while the sweeper unlocks the others.
    const reports = await reconcileWhile(h, () => unlockAll(h));

    // Assess: every run names the payee and the payout, and nothing else.
    for (const r of reports) {
      expect(r.ok).toBe(false);
      expect(failing(r)).toEqual([
        'balances_match_entries: kol-quiet cash available: balance 1 ≠ entries 0',
        `payout_totals_match: payout ${paid.id}: total ${paid.total + 7} ≠ lines ${paid.total}`,
      ]);
    }
  }, 180_000);

  it('never reports clean a balance out of step with its entries whose payee keeps earning all through the run', async () => {
    // Prepare: a payee with rewards, its balance then off by 1 (no version bump, as a lost write would leave it).
    for (let i = 0; i < 5; i++)
      await deliver(
        h.deps,
        inviteQualified(clock, { inviteId: `inv-busy-${i}`, inviterId: 'busy', inviteeId: `u-${i}` }),
      );
    await h.deps.store.update({
      key: ledgerBalanceKey('busy', 'cash'),
      update: 'ADD available :x',
      values: { ':x': 1 },
    });

    // Act: reconcile while rewards keep landing for that payee, so no two re-reads of it agree.
    let earning = true;
    let n = 5;
    const earner = (async () => {
      while (earning)
        await deliver(
          h.deps,
          inviteQualified(clock, { inviteId: `inv-busy-${n}`, inviterId: 'busy', inviteeId: `u-${n++}` }),
        );
    })();
    const busy = await reconcileLedger(h.deps, {}).finally(() => {
      earning = false;
    });
    await earner;

    // Assess: the mismatch is reported (unconfirmed when the payee never held still), never ok.
    expect(busy.ok).toBe(false);
    expect(failing(busy)).toContainEqual(
      expect.stringMatching(/balances_match_entries: .*busy cash available: balance \d+ ≠ entries \d+/),
    );
    const quiet = await reconcileLedger(h.deps, {});
    expect(failing(quiet)).toContainEqual(
      expect.stringMatching(/balances_match_entries: .*busy cash available: balance \d+ ≠ entries \d+/),
    );
  }, 180_000);
});
