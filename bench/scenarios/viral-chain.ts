import { helpBargain } from '#shared/domain/bargains/help-bargain';
import { startBargain } from '#shared/domain/bargains/start-bargain';
import { Store } from '#shared/store/store';
import { type BenchContext, type BenchRow, percentile, round, type Scenario, xCeiling } from '../scenario.ts';

/** Helpers a bench chain needs: the most a campaign allows, so chains stay open long under load. */
const HELPERS_REQUIRED = 500;

async function post(ctx: BenchContext, path: string, token: string, body?: unknown) {
  const r = await fetch(`${ctx.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  return { status: r.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/**
 * "Viral chain": many helpers at once, a few on each fresh chain (as when a share lands in a big
 * group chat), every helper a new user. Figures: helps/s and latency through HTTP, the ratio to
 * the raw 3-item TransactWriteItems ceiling, DynamoDB requests and write units per help as the
 * server counted them (these include the local bus delivering the events), and the exact cost
 * of one help measured on a private store counter (one read + one transaction).
 */
export const viralChainScenario: Scenario = {
  name: 'viral chain',
  async run(ctx): Promise<BenchRow[]> {
    const run = Date.now().toString(36);
    const created = await post(ctx, '/v1/admin/campaigns', ctx.token(`bench-admin-${run}`, ['admin']), {
      type: 'bargain',
      title: 'bench viral chain',
      rules: {
        sku: 'bench-sku',
        originalPrice: 10_000_000,
        floorPrice: 100_000,
        helpersRequired: HELPERS_REQUIRED,
        durationSeconds: 3600,
        maxHelpsPerUserPerDay: 1000,
        newUserBonus: true,
      },
    });
    if (created.status !== 201) throw new Error(`bench campaign not created: ${created.status}`);
    const campaignId = created.body.id as string;

    let initiators = 0;
    const startChain = async (): Promise<string> => {
      const r = await post(ctx, '/v1/bargains', ctx.token(`bench-init-${run}-${initiators++}`), { campaignId });
      if (r.status !== 201) throw new Error(`bench chain not started: ${r.status}`);
      return r.body.id as string;
    };
    let helpers = 0;
    /** One load phase: every connection helps, `slots` chains at a time; a chain that completes is replaced by a fresh one. */
    const phase = async (slots: number, seconds: number) => {
      const chains: Promise<string>[] = Array.from({ length: slots }, () => startChain());
      await Promise.all(chains);
      let measuring = false;
      const latencies: number[] = [];
      const other: Record<string, number> = {};
      let ok = 0;
      const worker = async (w: number, until: number) => {
        while (performance.now() < until) {
          const slot = w % slots;
          const current = chains[slot]!;
          const chainId = await current;
          const t0 = performance.now();
          const r = await post(ctx, `/v1/bargains/${chainId}/helps`, ctx.token(`bench-helper-${run}-${helpers++}`));
          const ms = performance.now() - t0;
          if (r.status === 201) {
            if (measuring) {
              ok++;
              latencies.push(ms);
            }
            if (r.body.status === 'completed' && chains[slot] === current) chains[slot] = startChain();
          } else {
            if (measuring) other[`${r.status} ${r.body.code}`] = (other[`${r.status} ${r.body.code}`] ?? 0) + 1;
            if (r.body.code === 'bargain_closed' && chains[slot] === current) chains[slot] = startChain();
          }
        }
      };
      const warmUntil = performance.now() + Math.min(2000, seconds * 250);
      await Promise.all(Array.from({ length: ctx.connections }, (_, w) => worker(w, warmUntil)));
      measuring = true;
      const before = { ...ctx.deps.store.stats };
      const started = performance.now();
      const until = started + seconds * 1000;
      await Promise.all(Array.from({ length: ctx.connections }, (_, w) => worker(w, until)));
      const elapsed = (performance.now() - started) / 1000;
      latencies.sort((a, b) => a - b);
      const opsPerSec = ok / elapsed;
      return {
        opsPerSec: round(opsPerSec),
        p50: round(percentile(latencies, 50)),
        p99: round(percentile(latencies, 99)),
        notes: {
          'x ceiling': xCeiling(ctx, opsPerSec),
          'helpers in flight per chain': round(ctx.connections / slots, 1),
          'requests/help (server, incl. bus)': round(
            (ctx.deps.store.stats.requests - before.requests) / Math.max(1, ok),
            2,
          ),
          'WCU/help (server, incl. bus)': round(
            (ctx.deps.store.stats.writeUnits - before.writeUnits) / Math.max(1, ok),
            2,
          ),
          ...other,
        },
      };
    };
    const spread = await phase(ctx.connections, ctx.seconds);
    const crowd = await phase(1, Math.max(1, Math.round(ctx.seconds / 2)));

    // The exact DynamoDB cost of one help: the use case on a store of its own, so nothing else is counted.
    const store = new Store(ctx.deps.store.client, ctx.deps.store.tableName);
    const deps = { ...ctx.deps, store };
    const sample = 40;
    const { chain } = await startBargain(deps, { campaignId, userId: `bench-direct-${run}` });
    await helpBargain(deps, { chainId: chain.id, helperId: `bench-direct-helper-${run}-warm` });
    const direct: number[] = [];
    const s0 = { ...store.stats };
    for (let i = 0; i < sample; i++) {
      const t0 = performance.now();
      await helpBargain(deps, { chainId: chain.id, helperId: `bench-direct-helper-${run}-${i}` });
      direct.push(performance.now() - t0);
    }
    const directReq = (store.stats.requests - s0.requests) / sample;
    const directWcu = (store.stats.writeUnits - s0.writeUnits) / sample;
    direct.sort((a, b) => a - b);
    const directTotal = direct.reduce((a, b) => a + b, 0) / 1000;

    return [
      { scenario: 'viral chain: helps, one helper at a time on each fresh chain', ...spread },
      { scenario: 'viral chain: helps, every connection on one chain', ...crowd },
      {
        scenario: 'viral chain: one help, use case alone (sequential)',
        opsPerSec: round(sample / directTotal),
        p50: round(percentile(direct, 50)),
        p99: round(percentile(direct, 99)),
        notes: { 'requests/help': round(directReq, 2), 'WCU/help': round(directWcu, 2) },
      },
    ];
  },
};
