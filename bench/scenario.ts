import type { Deps } from '#shared/deps';
import type { LocalBus } from '../infra/local/bus.ts';

/** What a scenario gets: a running local server (own DynamoDB Local) and ways to call it. */
export interface BenchContext {
  /** Base URL of the local server under test. */
  url: string;
  /** The server's dependencies (same process): store stats, config. */
  deps: Deps;
  /** The server's local event bus (a scenario may stop it to leave a backlog, then start it again). */
  bus: LocalBus;
  /** A bearer token the server accepts. */
  token(sub: string, roles?: string[]): string;
  /** Headers for a signed shop webhook with this raw body. */
  webhookHeaders(rawBody: string): Record<string, string>;
  /** Raw DynamoDB Local TransactWriteItems (3 items) per second measured in this run: the ceiling. */
  ceiling: number;
  /** Seconds each load phase runs (shorter in smoke runs). */
  seconds: number;
  /** Concurrent connections for load phases. */
  connections: number;
}

/** One printed row. Latencies in milliseconds. */
export interface BenchRow {
  scenario: string;
  opsPerSec: number;
  p50: number;
  p99: number;
  /** Extra figures: ratio to the ceiling, requests and write units per op, … */
  notes?: Record<string, string | number>;
}

export interface Scenario {
  name: string;
  run(ctx: BenchContext): Promise<BenchRow[]>;
}

/** `n` rounded to `d` decimals (non-finite numbers as they are). */
export const round = (n: number, d = 1): number => (Number.isFinite(n) ? Math.round(n * 10 ** d) / 10 ** d : n);

/** The `p`th percentile of ascending `sorted` (0 when empty). */
export const percentile = (sorted: number[], p: number): number =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : 0;

/** A rate as a multiple of the run's ceiling, for a row's notes ('n/a' when no ceiling was measured). */
export const xCeiling = (ctx: Pick<BenchContext, 'ceiling'>, opsPerSec: number): number | string =>
  ctx.ceiling ? round(opsPerSec / ctx.ceiling, 2) : 'n/a';

/**
 * The `j`th attributed order of run `run` as the orders area emits it (¥199.00 at 10%, locked a
 * week), for backlogs written straight into the outbox.
 */
export const attributedOrder = (run: string, j: number, o: { campaignId: string; kolId: string; paidAt: string }) => ({
  orderId: `bench-${run}-ord-${j}`,
  userId: `bench-buyer-${j}`,
  amount: 19_900,
  currency: 'CNY',
  paidAt: o.paidAt,
  campaignId: o.campaignId,
  linkCode: 'benchcode',
  kolId: o.kolId,
  rateBps: 1000,
  commission: 1990,
  lockSeconds: 604_800,
  minPayout: 100,
  held: false,
});

/** The `j`th qualified invite of run `run` (¥5.00 to the inviter, 100 points to the invitee, at once). */
export const qualifiedInvite = (run: string, j: number, o: { campaignId: string; inviterId: string }) => ({
  inviteId: `bench-${run}-inv-${j}`,
  campaignId: o.campaignId,
  inviterId: o.inviterId,
  inviteeId: `bench-${run}-invitee-${j}`,
  rewarded: true,
  held: false,
  inviterReward: { asset: 'cash' as const, amount: 500 },
  inviteeReward: { asset: 'points' as const, amount: 100 },
  lockSeconds: 0,
});
