import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createFullApp } from '#functions/app';
import { consumers } from '#functions/consumers/index';
import { finishAbandonedPayouts } from '#functions/finance/payout-finish';
import { settleClicks } from '#functions/links/background';
import { sweepTasks } from '#functions/sweeper/tasks';
import { createDeps, type Deps } from '#shared/deps';
import { within } from '#shared/within';
import { LocalBus, type LocalBusOptions } from './bus.ts';
import { requestListener } from './client-errors.ts';
import { claimDataDir, type DataDirClaim } from './data-dir.ts';
import { type LocalDynamo, startDynamoLocal } from './dynamodb.ts';
import { LocalSweeper } from './sweeper.ts';
import { ensureTable } from './table.ts';

export interface LocalRuntimeOptions {
  port?: number;
  /** Where DynamoDB Local keeps its data; omit for in-memory. */
  dataDir?: string;
  /** Use a DynamoDB that is already running instead of starting one. */
  dynamoEndpoint?: string;
  /** Called when the DynamoDB Local this runtime started stops on its own. */
  onDatabaseLost?: (why: string) => void;
  sweepIntervalMs?: number;
  bus?: LocalBusOptions;
  env?: Record<string, string | undefined>;
  deps?: Partial<Deps>;
}

export interface LocalRuntime {
  url: string;
  deps: Deps;
  bus: LocalBus;
  /** The HTTP server itself. */
  server: Server;
  /** Stops taking requests, answers those under way, writes pending clicks, then stops the rest. */
  stop(): Promise<void>;
}

/**
 * The whole backend in one process: DynamoDB Local, the HTTP API, the local event bus and the sweeper.
 * Fails before starting anything when `dataDir` is another running server's (DataDirInUseError) or
 * `port` is taken; a failure later stops what it had started.
 */
export async function startLocalRuntime(opts: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  const wantedPort = opts.port ?? 3000;
  // The data directory first: a second start on it names the server that has it, whatever its port.
  const dataDir: DataDirClaim | undefined =
    opts.dataDir && !opts.dynamoEndpoint ? await claimDataDir(opts.dataDir) : undefined;
  let dynamo: LocalDynamo | undefined;
  let deps: Deps | undefined;
  let bus: LocalBus | undefined;
  let sweeper: LocalSweeper | undefined;
  /** Stops the parts started so far; `stop` first closes the server and writes pending clicks. */
  const stopParts = async () => {
    await sweeper?.stop();
    await bus?.stop();
    deps?.store.client.destroy();
    await dynamo?.stop();
    dataDir?.release();
  };
  try {
    // Before Java starts: a taken port fails at once and leaves nothing behind.
    await checkPortFree(wantedPort);
    dynamo = opts.dynamoEndpoint
      ? undefined
      : await startDynamoLocal({
          dataDir,
          ...(opts.onDatabaseLost ? { onLost: opts.onDatabaseLost } : {}),
        });
    const endpoint = opts.dynamoEndpoint ?? dynamo!.endpoint;
    // Its redirects answer before the click is written, so counter ADDs can gather a quarter second.
    const env = { COUNTER_ROLLUP_MS: '250', ...process.env, ...opts.env, DYNAMODB_ENDPOINT: endpoint };
    deps = createDeps({
      env,
      // Its own DynamoDB Local (its data directory claimed) has no other writer: what an earlier run left running was cut off.
      ...(dynamo ? { storeOptions: { soleWriterRun: randomUUID() } } : {}),
      ...opts.deps,
      redeliver: (c, e) => bus!.redeliver(c, e),
    });
    const admin = new DynamoDBClient({
      endpoint,
      region: deps.config.AWS_REGION,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    try {
      await ensureTable(admin, deps.config.TABLE_NAME);
    } finally {
      admin.destroy();
    }

    // The table's sole writer: a payout an earlier run was creating when it died is ended now.
    if (deps.store.options.soleWriterRun) await finishAbandonedPayouts(deps);

    bus = new LocalBus(deps, consumers, opts.bus);
    bus.start();
    // What the last run left in the outbox (a stop's queue, a crash's backlog) is delivered before
    // the first request, so reads after a restart see it; a backlog too large for that goes on after.
    if ((await bus.startBacklog(BACKLOG_NOTICE_MS)) === undefined) {
      deps.log.info('delivering the events the last run left pending before taking requests', {
        waitsMs: BACKLOG_WAIT_MS,
      });
      if ((await bus.startBacklog(BACKLOG_WAIT_MS - BACKLOG_NOTICE_MS)) === undefined)
        deps.log.warn('taking requests while events the last run left pending are still being delivered');
    }

    sweeper = new LocalSweeper(deps, sweepTasks, opts.sweepIntervalMs ?? 1000);
    sweeper.start();

    const app = createFullApp(deps);
    const localBus = bus;
    const localSweeper = sweeper;
    const fetch: typeof app.fetch = async (req, env) => {
      if (readsEventEffects(req)) {
        await localBus.caughtUp();
        await localSweeper.caughtUp();
        return app.fetch(req, env);
      }
      const response = await app.fetch(req, env);
      if (req.method !== 'GET' && req.method !== 'HEAD') await within(localBus.paced(MAX_EVENT_LAG), PACE_LIMIT_MS);
      return response;
    };
    // Without Node's own Host check, so a request lacking one is answered with a problem document too.
    const server = createHttpServer({ requireHostHeader: false });
    server.on('request', requestListener(server, fetch, deps.log));
    await new Promise<void>((ok, fail) => {
      server.once('error', (e) => fail(listenError(wantedPort, e)));
      server.listen(wantedPort, '0.0.0.0', () => {
        server.removeAllListeners('error');
        ok();
      });
    });
    const closeServer = gracefulStop(server);
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : wantedPort;

    let stopped = false;
    return {
      url: `http://localhost:${port}`,
      deps,
      bus,
      server,
      async stop() {
        if (stopped) return;
        stopped = true;
        // Answers held for the bus to catch up go now: the stop waits for the requests under way.
        bus?.releasePaced();
        // New connections are refused at once; the sweeper's round and the requests under way end meanwhile.
        await Promise.all([sweeper?.stop(), closeServer()]);
        // Redirects answer before their clicks are written: write them before the client goes, while
        // the bus finishes only the deliveries under way (what it had queued stays in the outbox).
        await Promise.all([bus?.stop(), settleClicks()]);
        await stopParts();
      },
    };
  } catch (e) {
    await stopParts();
    throw e;
  }
}

/**
 * Whether a request reads what events lead to: every GET of the API (rewards, stats, the ledger)
 * and every finance request (payouts are paid from the ledger the events write). Locally these
 * wait for the bus to deliver the events committed before them (LocalBus.caughtUp).
 */
function readsEventEffects(req: Request): boolean {
  const path = req.url.slice(req.url.indexOf('/', req.url.indexOf('//') + 2));
  return path.startsWith('/v1/') && (req.method === 'GET' || path.startsWith('/v1/finance/'));
}

/** Fails, as listening would, when something already listens on `port` (0: any free port, never taken). */
async function checkPortFree(port: number): Promise<void> {
  if (port === 0) return;
  await new Promise<void>((ok, fail) => {
    const probe = createServer();
    probe.once('error', (e) => fail(listenError(port, e)));
    probe.listen(port, '0.0.0.0', () => probe.close(() => ok()));
  });
}

/** The error to show for a server that could not listen on `port`. */
function listenError(port: number, e: Error): Error {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') return new Error(`Port ${port} is already in use: stop what listens on it, or set PORT.`);
  if (code === 'EACCES')
    return new Error(`Port ${port} needs privileges this process lacks: set PORT to 1024 or above.`);
  return e;
}

/** How long a start waits for the events the last run left before it takes requests anyway. */
const BACKLOG_WAIT_MS = 20_000;
/** A start that waits longer than this for them says so. */
const BACKLOG_NOTICE_MS = 1000;

/**
 * Events committed but not yet delivered, at most, before the answers of writes wait for the bus
 * (LocalBus.paced): about what a restart's cold DynamoDB Local delivers in a few seconds, so a
 * stop under any load leaves a backlog the next start delivers well within BACKLOG_WAIT_MS.
 */
export const MAX_EVENT_LAG = 256;
/** How long a write's answer waits at most for the bus to catch up (a stuck consumer must not stall the API). */
const PACE_LIMIT_MS = 10_000;

/** How long a stop waits for requests under way to be answered before cutting their connections. */
const STOP_GRACE_MS = 10_000;

/**
 * Prepares a graceful stop of `server` (call it as the server starts, so it sees every request)
 * and answers the function that performs it: the server takes no new connections, every request
 * under way (or arriving on a connection already open) is answered with `Connection: close`, each
 * connection closes after its answer, and what is still open after STOP_GRACE_MS is cut. Their
 * writes commit anyway, so their clients should hear how they ended.
 */
function gracefulStop(server: Server): () => Promise<void> {
  const open = new Set<ServerResponse>();
  let stopping = false;
  server.on('request', (_req: IncomingMessage, res: ServerResponse) => {
    if (stopping) res.shouldKeepAlive = false;
    open.add(res);
    res.once('close', () => open.delete(res));
    // An answer that went out with keep-alive before the stop: its connection is idle now.
    res.once('finish', () => {
      if (stopping) setImmediate(() => server.closeIdleConnections());
    });
  });
  return async () => {
    stopping = true;
    for (const res of open) if (!res.headersSent) res.shouldKeepAlive = false;
    const closed = new Promise<void>((r) => server.close(() => r()));
    server.closeIdleConnections();
    if (
      (await within(
        closed.then(() => true),
        STOP_GRACE_MS,
      )) === undefined
    )
      server.closeAllConnections();
    await closed;
  };
}
