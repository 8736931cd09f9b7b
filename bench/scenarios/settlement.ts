import { commissionIdFor } from '#shared/domain/ledger/apply-reversals';
import { inviteRewardSides } from '#shared/domain/ledger/settle-invite';
import { outboxPut } from '#shared/events/outbox';
import { ledgerEntryKey } from '#shared/store/keys';
import type { TxItem } from '#shared/store/store';
import {
  attributedOrder,
  type BenchRow,
  percentile,
  qualifiedInvite,
  round,
  type Scenario,
  xCeiling,
} from '../scenario.ts';

/**
 * Reward-causing events (2 attributed orders to 1 qualified invite) written to the outbox, as
 * producers do, and carried by the running server's local bus into the ledger consumers.
 * The events are written as one burst, so the figures are the bus's drain rate (events settled per
 * second, from the first `occurredAt` to the last entry written) and the end-to-end lag from each
 * event's `occurredAt` to its entry's `createdAt` (p50/p99, queueing in the burst included), plus
 * the ratio of the rate to the raw transaction ceiling measured in the same run.
 */
export const settlementScenario: Scenario = {
  name: 'settlement',
  async run(ctx): Promise<BenchRow[]> {
    const { store, clock } = ctx.deps;
    const total = Math.max(150, ctx.seconds * 100);
    const run = Date.now().toString(36);
    const expected: { id: string; occurredAt: number }[] = [];
    const before = { ...store.stats };
    const started = performance.now();
    for (let i = 0; i < total; i += 25) {
      const tx: TxItem[] = [];
      for (let j = i; j < Math.min(total, i + 25); j++) {
        const occurredAt = clock.now();
        if (j % 3 === 2) {
          const invite = qualifiedInvite(run, j, {
            campaignId: 'cmp_bench_invite',
            inviterId: `bench-inviter-${j % 97}`,
          });
          tx.push(outboxPut('InviteQualified', invite, clock));
          expected.push({ id: inviteRewardSides(invite)[0]!.id, occurredAt });
        } else {
          const kolId = `bench-kol-${j % 211}`;
          const order = attributedOrder(run, j, {
            campaignId: 'cmp_bench_commission',
            kolId,
            paidAt: new Date(occurredAt).toISOString(),
          });
          tx.push(outboxPut('OrderAttributed', order, clock));
          expected.push({ id: commissionIdFor(order.orderId, kolId), occurredAt });
        }
      }
      await store.transact(tx);
    }
    const lags: number[] = [];
    const pending = new Map(expected.map((e) => [e.id, e.occurredAt]));
    let lastWritten = 0;
    const deadline = performance.now() + Math.max(60, ctx.seconds * 12) * 1000;
    while (pending.size > 0 && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      const found = await store.batchGet<{ id: string; createdAt: string }>(
        [...pending.keys()].map((id) => ledgerEntryKey(id)),
      );
      for (const e of found) {
        const written = Date.parse(e.createdAt);
        lags.push(written - pending.get(e.id)!);
        lastWritten = Math.max(lastWritten, written);
        pending.delete(e.id);
      }
    }
    const firstOccurred = Math.min(...expected.map((e) => e.occurredAt));
    const elapsed = Math.max(1, lastWritten - firstOccurred) / 1000;
    const settled = expected.length - pending.size;
    const opsPerSec = round(settled / elapsed);
    lags.sort((a, b) => a - b);
    const s = store.stats;
    return [
      {
        scenario: 'settlement: outbox → local bus → ledger',
        opsPerSec,
        p50: percentile(lags, 50),
        p99: percentile(lags, 99),
        notes: {
          'burst of events': expected.length,
          settled,
          ...(pending.size ? { missing: pending.size } : {}),
          'x ceiling': xCeiling(ctx, opsPerSec),
          'ddb req/event (server, incl. polling)': round((s.requests - before.requests) / Math.max(1, settled), 2),
          'wall s': round((performance.now() - started) / 1000),
        },
      },
    ];
  },
};
