import { outboxPut } from '#shared/events/outbox';
import { INDEX_SHARDS, outboxShardPk } from '#shared/store/keys';
import type { TxItem } from '#shared/store/store';
import {
  attributedOrder,
  type BenchContext,
  type BenchRow,
  qualifiedInvite,
  round,
  type Scenario,
  xCeiling,
} from '../scenario.ts';

/** The outbox item of the `j`th backlog event: attributed orders, qualified invites, bargain and group outcomes, paid orders. */
function backlogEvent(run: string, j: number, clock: Parameters<typeof outboxPut>[2]): TxItem {
  const paidAt = new Date(clock.now()).toISOString();
  switch (j % 5) {
    case 0:
    case 1:
      return outboxPut(
        'OrderAttributed',
        attributedOrder(run, j, { campaignId: 'cmp_bench_backlog', kolId: `bench-backlog-kol-${j % 211}`, paidAt }),
        clock,
      );
    case 2:
      return outboxPut(
        'InviteQualified',
        qualifiedInvite(run, j, {
          campaignId: 'cmp_bench_backlog_invite',
          inviterId: `bench-backlog-inviter-${j % 97}`,
        }),
        clock,
      );
    case 3:
      if (j % 10 === 8)
        return outboxPut(
          'GroupBuyFailed',
          {
            groupId: `bench-${run}-grp-${j}`,
            campaignId: 'cmp_bench_backlog_group',
            leaderId: `bench-${run}-leader-${j}`,
            reason: 'expired',
            refunds: [],
          },
          clock,
        );
      return outboxPut(
        'BargainCompleted',
        {
          chainId: `bench-${run}-chain-${j}`,
          campaignId: 'cmp_bench_backlog_bargain',
          initiatorId: `bench-${run}-initiator-${j}`,
          sku: 'sku-1',
          price: 500,
          entitlementId: `bench-${run}-ent-${j}`,
        },
        clock,
      );
    default:
      return outboxPut(
        'OrderPaid',
        {
          orderId: `bench-${run}-paid-${j}`,
          userId: `bench-${run}-payer-${j}`,
          amount: 9_900,
          currency: 'CNY',
          paidAt,
          firstOrder: true,
        },
        clock,
      );
  }
}

/**
 * Delivers a backlog of `total` outbox events (`event(j)`) written while the local bus is stopped,
 * as a crash mid-burst leaves them, then starts the bus again, as after a restart, which finds them
 * by reading the outbox shards. Measures until the outbox is empty.
 */
async function drain(
  ctx: BenchContext,
  scenario: string,
  total: number,
  event: (j: number) => TxItem,
): Promise<BenchRow> {
  const { store } = ctx.deps;
  await ctx.bus.stop();
  for (let i = 0; i < total; i += 25) {
    const tx: TxItem[] = [];
    for (let j = i; j < Math.min(total, i + 25); j++) tx.push(event(j));
    await store.transact(tx);
  }
  const stats0 = { ...ctx.bus.stats };
  const before = { ...store.stats };
  const started = performance.now();
  let half = 0;
  let most = 0;
  const delivered = () => ctx.bus.stats.delivered - stats0.delivered;
  const deadline = started + Math.max(120, ctx.seconds * 30) * 1000;
  ctx.bus.start();
  while (delivered() < total && performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 20));
    if (!half && delivered() >= total / 2) half = performance.now() - started;
    if (!most && delivered() >= total * 0.99) most = performance.now() - started;
  }
  const elapsed = (performance.now() - started) / 1000;
  const requests = store.stats.requests - before.requests;
  let left = 0;
  for (let shard = 0; shard < INDEX_SHARDS; shard++)
    left += (await store.queryAll({ index: 'gsi4', pk: outboxShardPk(shard) })).length;
  const opsPerSec = round(delivered() / elapsed);
  return {
    scenario,
    opsPerSec,
    p50: round(half, 0),
    p99: round(most, 0),
    notes: {
      backlog: total,
      delivered: delivered(),
      ...(left ? { 'left pending': left } : {}),
      retries: ctx.bus.stats.retries - stats0.retries,
      'dead-lettered': ctx.bus.stats.deadLettered - stats0.deadLettered,
      'x ceiling': xCeiling(ctx, opsPerSec),
      'ddb req/event': round(requests / Math.max(1, delivered()), 2),
      'p50/p99': 'ms to half/99% delivered',
    },
  };
}

/**
 * "Backlog drain": a backlog of outbox events of five types for many payees, delivered by the
 * local bus at start; then one KOL's backlog of attributed orders, whose commissions all change
 * one balance. Figures: events delivered per second from the start to the outbox being empty;
 * "p50"/"p99" are the milliseconds until half and 99% of the backlog had been delivered;
 * DynamoDB requests per event (bus and consumers), retries and dead letters.
 */
export const backlogDrainScenario: Scenario = {
  name: 'backlog drain',
  async run(ctx): Promise<BenchRow[]> {
    const { clock } = ctx.deps;
    const run = Date.now().toString(36);
    const mixed = await drain(ctx, 'backlog drain: pending outbox → local bus at start', ctx.seconds * 400, (j) =>
      backlogEvent(run, j, clock),
    );
    const paidAt = new Date(clock.now()).toISOString();
    const oneKol = await drain(ctx, 'backlog drain: one KOL’s attributed orders', ctx.seconds * 100, (j) =>
      outboxPut(
        'OrderAttributed',
        attributedOrder(`${run}k`, j, {
          campaignId: 'cmp_bench_backlog',
          kolId: `bench-backlog-hot-kol-${run}`,
          paidAt,
        }),
        clock,
      ),
    );
    return [mixed, oneKol];
  },
};
