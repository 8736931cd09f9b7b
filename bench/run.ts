// npm run bench [-- --quick] [-- --only <scenario>] [-- --disk]: load figures of the local server, then the Lambda bundles.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { DynamoDBClient, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import autocannon, { type Request, type Result } from 'autocannon';
import { build } from 'esbuild';
import { signJwt } from '#shared/http/jwt';
import { signWebhook } from '#shared/http/webhook';
import { esbuildOptions } from '../infra/bundling.ts';
import { lambdaEntries, ROOT } from '../infra/lambdas.ts';
import { type LocalRuntime, startLocalRuntime } from '../infra/local/runtime.ts';
import { type BenchContext, type BenchRow, percentile, round, type Scenario } from './scenario.ts';
import { scenarios } from './scenarios/index.ts';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    disk: { type: 'boolean', default: false },
  },
});
const quick = args.quick!;
/** Scenario names match case-insensitively, with dashes for spaces: `--only viral-chain`. */
const slug = (name: string) =>
  name
    .toLowerCase()
    .trim()
    .replace(/[\s_]+/g, '-');
const only = args.only === undefined ? undefined : slug(args.only);
const seconds = quick ? 2 : 10;
/** Untimed load before each base phase: DynamoDB Local's JVM and V8 both need to warm up. */
const warmSeconds = quick ? 1 : 3;
const connections = quick ? 8 : 32;

const ENV = {
  JWT_SECRET: 'bench-jwt-secret',
  WEBHOOK_SECRET: 'bench-webhook-secret',
  JWT_ISSUER: 'fission-local',
  JWT_AUDIENCE: 'fission',
  RATE_LIMIT_USER_PER_SEC: '0',
  RATE_LIMIT_IP_PER_SEC: '0',
  LOG_LEVEL: 'SILENT',
  TABLE_NAME: 'fission-bench',
  AWS_REGION: 'local',
  AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1',
} as const;
Object.assign(process.env, ENV);

/** A printed row with the peak RSS seen while its scenario ran. */
type Row = BenchRow & { rssMb: number };

const MB = 1024 * 1024;
/** Runs `fn` while sampling this process's RSS; answers its result and the peak RSS in MB. */
async function withPeakRss<T>(fn: () => Promise<T>): Promise<{ value: T; rssMb: number }> {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 25);
  try {
    const value = await fn();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { value, rssMb: round(peak / MB, 0) };
  } finally {
    clearInterval(timer);
  }
}

/** The ceiling: raw DynamoDB Local TransactWriteItems of 3 puts, straight from a client, with concurrency. */
async function measureCeiling(endpoint: string, tableName: string): Promise<BenchRow> {
  const client = new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  let latencies: number[] = [];
  let failed = 0;
  let deadline = 0;
  const worker = async () => {
    while (performance.now() < deadline) {
      const id = randomUUID();
      const t0 = performance.now();
      try {
        await client.send(
          new TransactWriteItemsCommand({
            TransactItems: ['a', 'b', 'c'].map((sk) => ({
              Put: {
                TableName: tableName,
                Item: { pk: { S: `BENCH#${id}` }, sk: { S: sk }, entity: { S: 'bench' }, n: { N: '1' } },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            })),
          }),
        );
        latencies.push(performance.now() - t0);
      } catch {
        failed++;
      }
    }
  };
  deadline = performance.now() + warmSeconds * 1000;
  await Promise.all(Array.from({ length: connections }, worker));
  latencies = [];
  failed = 0;
  const started = performance.now();
  deadline = started + seconds * 1000;
  await Promise.all(Array.from({ length: connections }, worker));
  const elapsed = (performance.now() - started) / 1000;
  client.destroy();
  latencies.sort((a, b) => a - b);
  return {
    scenario: 'ceiling: raw TransactWriteItems (3 puts)',
    opsPerSec: round(latencies.length / elapsed),
    p50: round(percentile(latencies, 50)),
    p99: round(percentile(latencies, 99)),
    notes: { concurrency: connections, ...(failed ? { failed } : {}) },
  };
}

/** An autocannon result as a row; the store's request and write-unit counters become per-op figures. */
function rowOf(
  scenario: string,
  r: Result,
  ctx: { ceiling: number; stats: { requests: number; writeUnits: number } },
  notes: Record<string, string | number> = {},
): BenchRow {
  const ok = r['2xx'];
  const opsPerSec = round(ok / r.duration);
  return {
    scenario,
    opsPerSec,
    p50: r.latency.p50,
    p99: r.latency.p99,
    notes: {
      ...(ctx.ceiling ? { 'x ceiling': round(opsPerSec / ctx.ceiling, 2) } : {}),
      ...(ok ? { 'ddb req/op': round(ctx.stats.requests / ok, 2), 'WCU/op': round(ctx.stats.writeUnits / ok, 2) } : {}),
      ...(r.non2xx ? { non2xx: r.non2xx } : {}),
      ...(r.errors ? { errors: r.errors } : {}),
      ...(r.timeouts ? { timeouts: r.timeouts } : {}),
      // Nothing answered in the phase (a machine too busy for a short --quick phase): say so.
      ...(ok === 0 ? { answered: `none of ${r.requests.sent} sent within ${r.duration} s` } : {}),
      ...notes,
    },
  };
}

/**
 * Store counters accumulated while `fn` runs. The local bus pauses meanwhile (base phases emit no
 * events a consumer must see at once), so its outbox polling does not count as the request path's.
 */
async function counting<T>(rt: LocalRuntime, fn: () => Promise<T>) {
  await rt.bus.stop();
  const before = { ...rt.deps.store.stats };
  try {
    const value = await fn();
    const s = rt.deps.store.stats;
    return { value, stats: { requests: s.requests - before.requests, writeUnits: s.writeUnits - before.writeUnits } };
  } finally {
    rt.bus.start();
  }
}

/** A short untimed autocannon run with the same requests. */
async function warm(opts: Parameters<typeof autocannon>[0]): Promise<void> {
  await autocannon({ ...opts, duration: warmSeconds });
}

function baseScenarios(): Scenario[] {
  return [
    {
      name: 'health',
      async run(ctx) {
        const opts = { url: `${ctx.url}/health`, connections: ctx.connections, duration: ctx.seconds };
        await warm(opts);
        const { value, stats } = await counting(rt, () => autocannon(opts));
        return [rowOf('GET /health', value, { ceiling: ctx.ceiling, stats })];
      },
    },
    {
      name: 'campaigns',
      async run(ctx) {
        const token = ctx.token('bench-admin', ['admin']);
        const body = JSON.stringify({
          type: 'bargain',
          title: 'Bench campaign',
          rules: { sku: 'sku-1', originalPrice: 2000, floorPrice: 500, helpersRequired: 3, durationSeconds: 600 },
        });
        const opts = {
          url: ctx.url,
          connections: ctx.connections,
          duration: ctx.seconds,
          requests: [
            {
              method: 'POST',
              path: '/v1/admin/campaigns',
              headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
              body,
              setupRequest: (req: Request) => ({
                ...req,
                headers: { ...req.headers, 'idempotency-key': randomUUID() },
              }),
            },
          ],
        };
        await warm(opts);
        const { value, stats } = await counting(rt, () => autocannon(opts));
        return [
          rowOf('POST /v1/admin/campaigns', value, { ceiling: ctx.ceiling, stats }, { 'Idempotency-Key': 'each' }),
        ];
      },
    },
  ];
}

function printTable(rows: Row[]): void {
  const head = ['scenario', 'ops/s', 'p50 ms', 'p99 ms', 'peak RSS MB', 'notes'];
  const lines = rows.map((r) => [
    r.scenario,
    String(r.opsPerSec),
    String(round(r.p50)),
    String(round(r.p99)),
    String(r.rssMb),
    Object.entries(r.notes ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(' '),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ');
  console.log(fmt(head));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const l of lines) console.log(fmt(l));
}

const run = promisify(execFile);

/** Builds every Lambda bundle as the stack does, then weighs it and times its import in a fresh Node process. */
async function benchBundles(endpoint: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'fission-bundles-'));
  try {
    // On Lambda the runtime provides the AWS SDK; here the project's copy stands in for it.
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    const entries = new Map<string, string>();
    for (const e of lambdaEntries())
      entries.set(e.kind === 'area' || e.kind === 'consumer' ? `${e.kind}-${e.name}` : e.kind, e.entry);
    const t0 = performance.now();
    const result = await build(esbuildOptions(Object.fromEntries(entries), dir));
    const buildMs = performance.now() - t0;
    const childEnv = { PATH: process.env.PATH ?? '', ...ENV, DYNAMODB_ENDPOINT: endpoint };
    const rows: string[][] = [];
    for (const name of entries.keys()) {
      const file = join(dir, name, 'index.mjs');
      const meta = Object.entries(result.metafile!.outputs).find(([path]) => path.endsWith(`${name}/index.mjs`))?.[1];
      const inputs = meta ? Object.keys(meta.inputs).length : 0;
      const script = `const t=performance.now();await import(${JSON.stringify(pathToFileURL(file).href)});process.stdout.write(String(performance.now()-t));process.exit(0);`;
      let importMs = 'failed';
      try {
        const r = await run(process.execPath, ['--input-type=module', '-e', script], { env: childEnv, cwd: dir });
        importMs = String(round(Number(r.stdout)));
      } catch (e) {
        importMs = `failed: ${String((e as Error).message).split('\n')[0]}`;
      }
      rows.push([name, String(round(statSync(file).size / 1024)), String(inputs), importMs]);
    }
    const head = ['bundle', 'size KiB', 'modules', 'import ms (fresh node)'];
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const fmt = (cells: string[]) =>
      cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
    console.log(`\nLambda bundles (esbuild, ESM, minified, AWS SDK external; all built in ${round(buildMs, 0)} ms)`);
    console.log(fmt(head));
    console.log(widths.map((w) => '-'.repeat(w)).join('  '));
    for (const r of rows) console.log(fmt(r));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// A mistyped name fails here, before anything starts.
const all = [...baseScenarios(), ...scenarios];
const known = ['ceiling', 'bundles', ...all.map((s) => slug(s.name))];
if (only && !known.includes(only)) {
  console.error(`No scenario named "${only}". Known: ${known.join(', ')}.`);
  process.exit(1);
}

/** With --disk, DynamoDB Local keeps its data in a temporary directory, as `npm start` runs it (slower writes). */
const dataDir = args.disk ? mkdtempSync(join(tmpdir(), 'fission-bench-data-')) : undefined;
const rt = await startLocalRuntime({ port: 0, env: ENV, sweepIntervalMs: 1000, ...(dataDir ? { dataDir } : {}) });
let exitCode = 0;
try {
  const endpoint = rt.deps.config.DYNAMODB_ENDPOINT!;
  console.log(
    `Fission bench${quick ? ' (quick)' : ''}: ${seconds} s per phase, ${connections} connections, server ${rt.url}, ` +
      `DynamoDB Local (${dataDir ? 'on disk' : 'in memory'}) at ${endpoint}\n`,
  );
  const rows: Row[] = [];
  const wanted = (name: string) => !only || only === slug(name);

  // The ceiling is measured in every run: other rows are compared against it.
  // The ceiling is DynamoDB Local alone: the local bus's outbox polling pauses while it is measured.
  await rt.bus.stop();
  const ceiling = await withPeakRss(() => measureCeiling(endpoint, rt.deps.config.TABLE_NAME));
  rt.bus.start();
  if (wanted('ceiling')) rows.push({ ...ceiling.value, rssMb: ceiling.rssMb });

  const ctx: BenchContext = {
    url: rt.url,
    deps: rt.deps,
    bus: rt.bus,
    token: (sub, roles = ['user']) =>
      signJwt(
        { sub, roles },
        {
          secret: ENV.JWT_SECRET,
          issuer: ENV.JWT_ISSUER,
          audience: ENV.JWT_AUDIENCE,
          nowSeconds: Math.floor(Date.now() / 1000),
          ttlSeconds: 24 * 3600,
        },
      ),
    webhookHeaders: (raw) => {
      const ts = Math.floor(Date.now() / 1000);
      return {
        'content-type': 'application/json',
        'x-fission-timestamp': String(ts),
        'x-fission-signature': signWebhook(ENV.WEBHOOK_SECRET, ts, raw),
      };
    },
    ceiling: ceiling.value.opsPerSec,
    seconds,
    connections,
  };

  for (const scenario of all.filter((s) => wanted(s.name))) {
    try {
      const { value, rssMb } = await withPeakRss(() => scenario.run(ctx));
      for (const row of value) rows.push({ ...row, rssMb });
    } catch (e) {
      exitCode = 1;
      rows.push({
        scenario: `${scenario.name} FAILED`,
        opsPerSec: 0,
        p50: 0,
        p99: 0,
        rssMb: 0,
        notes: { error: String((e as Error).message).slice(0, 160) },
      });
    }
  }
  printTable(rows);
  console.log(
    `\nBase rows count DynamoDB requests with the local bus paused (the sweeper still runs every second). ` +
      `Peak RSS is this one process (server + load generator); DynamoDB Local's JVM is separate. ` +
      `Process peak RSS: ${round(process.resourceUsage().maxRSS / 1024, 0)} MB.`,
  );

  if (wanted('bundles')) await benchBundles(endpoint);
} catch (e) {
  exitCode = 1;
  console.error(e);
} finally {
  await rt.stop();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
}
process.exit(exitCode);
