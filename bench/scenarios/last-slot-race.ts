import { joinGroup } from '#shared/domain/group-buys/join-group';
import { openGroup } from '#shared/domain/group-buys/open-group';
import { Store } from '#shared/store/store';
import { type BenchContext, type BenchRow, percentile, round, type Scenario, xCeiling } from '../scenario.ts';

/** Members per bench group: small, so most joins are near the last slot. */
const GROUP_SIZE = 4;

async function post(ctx: BenchContext, path: string, token: string, body: unknown) {
  const r = await fetch(`${ctx.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await r.text();
  return { status: r.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function createCampaign(ctx: BenchContext, run: string, groupSize: number): Promise<string> {
  const r = await post(ctx, '/v1/admin/campaigns', ctx.token(`bench-admin-${run}`, ['admin']), {
    type: 'group_buy',
    title: 'bench last-slot race',
    rules: { sku: 'bench-sku', originalPrice: 10_000, groupPrice: 8_000, groupSize, durationSeconds: 3600 },
  });
  if (r.status !== 201) throw new Error(`bench campaign not created: ${r.status}`);
  return r.body.id as string;
}

/**
 * "Last-slot race": many small groups filling at once, about two joiners in flight per group so
 * the last slots are contested; a group that forms is replaced by a fresh one. Every joiner is a
 * new user. The groups the timed phase fills are opened just before it (opening is timed in a
 * row of its own), so the join figures are of joins: successful joins/s and latency through HTTP
 * (refused joins are counted apart), the ratio to the raw 3-item TransactWriteItems ceiling,
 * DynamoDB requests and write units per join as the server counted them (these include refused
 * attempts and the local bus), and the exact cost of one uncontended join on a private store
 * counter. Should the opened groups run out, the phase opens more as it goes and says how many.
 */
export const lastSlotRaceScenario: Scenario = {
  name: 'last-slot race',
  async run(ctx): Promise<BenchRow[]> {
    const run = Date.now().toString(36);
    const campaignId = await createCampaign(ctx, run, GROUP_SIZE);
    let leaders = 0;
    let joiners = 0;
    const openOne = async (): Promise<string> => {
      const r = await post(ctx, '/v1/group-buys', ctx.token(`bench-leader-${run}-${leaders}`), {
        campaignId,
        orderId: `bench-order-${run}-L${leaders++}`,
      });
      if (r.status !== 201) throw new Error(`bench group not opened: ${r.status}`);
      return r.body.id as string;
    };
    /** Groups opened ahead, taken in turn when a slot's group is done; empty means open one now. */
    const ready: string[] = [];
    let openedInPhase = 0;
    const nextGroup = (): Promise<string> => {
      const id = ready.pop();
      if (id) return Promise.resolve(id);
      openedInPhase++;
      return openOne();
    };
    const slots = Math.max(1, Math.floor(ctx.connections / 2));
    const groups: Promise<string>[] = Array.from({ length: slots }, () => openOne());
    await Promise.all(groups);

    let measuring = false;
    let ok = 0;
    let formed = 0;
    const latencies: number[] = [];
    const refused: Record<string, number> = {};
    const worker = async (w: number, until: number) => {
      while (performance.now() < until) {
        const slot = w % slots;
        const current = groups[slot]!;
        const groupId = await current;
        const n = joiners++;
        const t0 = performance.now();
        const r = await post(ctx, `/v1/group-buys/${groupId}/members`, ctx.token(`bench-joiner-${run}-${n}`), {
          orderId: `bench-order-${run}-J${n}`,
        });
        const ms = performance.now() - t0;
        const done =
          r.status === 201 ? r.body.status === 'formed' : ['group_full', 'group_closed'].includes(String(r.body.code));
        if (measuring) {
          if (r.status === 201) {
            ok++;
            latencies.push(ms);
            if (done) formed++;
          } else refused[`${r.status} ${r.body.code}`] = (refused[`${r.status} ${r.body.code}`] ?? 0) + 1;
        }
        if (done && groups[slot] === current) groups[slot] = nextGroup();
      }
    };
    const warmMs = Math.min(2000, ctx.seconds * 250);
    const warmJoins = joiners;
    const warmUntil = performance.now() + warmMs;
    await Promise.all(Array.from({ length: ctx.connections }, (_, w) => worker(w, warmUntil)));
    await Promise.all(groups);

    // Open the groups the timed phase will fill: enough for joins at the ceiling's rate, or at
    // three times the warm-up's, whichever is more.
    const warmRate = (joiners - warmJoins) / (warmMs / 1000);
    const joinsAhead = Math.max(ctx.ceiling, 3 * warmRate) * ctx.seconds;
    const toOpen = Math.ceil(joinsAhead / (GROUP_SIZE - 1)) + slots;
    const openLatencies: number[] = [];
    const openStarted = performance.now();
    let opening = 0;
    await Promise.all(
      Array.from({ length: ctx.connections }, async () => {
        while (opening++ < toOpen) {
          const t0 = performance.now();
          ready.push(await openOne());
          openLatencies.push(performance.now() - t0);
        }
      }),
    );
    const openRate = openLatencies.length / ((performance.now() - openStarted) / 1000);
    openLatencies.sort((a, b) => a - b);

    measuring = true;
    openedInPhase = 0;
    const before = { ...ctx.deps.store.stats };
    const started = performance.now();
    const until = started + ctx.seconds * 1000;
    await Promise.all(Array.from({ length: ctx.connections }, (_, w) => worker(w, until)));
    const elapsed = (performance.now() - started) / 1000;
    await Promise.all(groups);
    latencies.sort((a, b) => a - b);
    const opsPerSec = ok / elapsed;

    // The exact DynamoDB cost of one uncontended join: the use case on a store of its own.
    const store = new Store(ctx.deps.store.client, ctx.deps.store.tableName);
    const deps = { ...ctx.deps, store };
    const bigCampaign = await createCampaign(ctx, `${run}-direct`, 50);
    const sample = 40;
    const group = await openGroup(deps, {
      campaignId: bigCampaign,
      orderId: `bench-direct-${run}-L`,
      userId: `bench-direct-${run}-L`,
    });
    const s0 = { ...store.stats };
    const direct: number[] = [];
    for (let i = 0; i < sample; i++) {
      const t0 = performance.now();
      await joinGroup(deps, {
        groupId: group.id,
        userId: `bench-direct-${run}-${i}`,
        orderId: `bench-direct-${run}-${i}`,
      });
      direct.push(performance.now() - t0);
    }
    direct.sort((a, b) => a - b);

    return [
      {
        scenario: 'last-slot race',
        opsPerSec: round(opsPerSec),
        p50: round(percentile(latencies, 50)),
        p99: round(percentile(latencies, 99)),
        notes: {
          'x ceiling': xCeiling(ctx, opsPerSec),
          'joiners in flight per group': round(ctx.connections / slots, 1),
          'groups formed': formed,
          'groups opened during the phase': openedInPhase,
          'requests/join (server, incl. refused + bus)': round(
            (ctx.deps.store.stats.requests - before.requests) / Math.max(1, ok),
            2,
          ),
          'WCU/join (server, incl. refused + bus)': round(
            (ctx.deps.store.stats.writeUnits - before.writeUnits) / Math.max(1, ok),
            2,
          ),
          ...refused,
        },
      },
      {
        scenario: 'last-slot race: opening the groups',
        opsPerSec: round(openRate),
        p50: round(percentile(openLatencies, 50)),
        p99: round(percentile(openLatencies, 99)),
        notes: { 'x ceiling': xCeiling(ctx, openRate) },
      },
      {
        scenario: 'last-slot race: one join, uncontended (use case)',
        opsPerSec: round(1000 / (direct.reduce((a, b) => a + b, 0) / sample)),
        p50: round(percentile(direct, 50)),
        p99: round(percentile(direct, 99)),
        notes: {
          'requests/join': round((store.stats.requests - s0.requests) / sample, 2),
          'WCU/join': round((store.stats.writeUnits - s0.writeUnits) / sample, 2),
        },
      },
    ];
  },
};
