import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type ServerType, serve } from '@hono/node-server';
import { createFullApp } from '#functions/app';
import { consumers } from '#functions/consumers/index';
import { settleClicks } from '#functions/links/background';
import { sweepTasks } from '#functions/sweeper/tasks';
import { createDeps, type Deps } from '#shared/deps';
import { sweepOnce } from '#shared/sweeper';
import { LocalBus, type LocalBusOptions } from './bus.ts';
import { answerClientErrors } from './client-errors.ts';
import { type LocalDynamo, startDynamoLocal } from './dynamodb.ts';
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

/** The whole backend in one process: DynamoDB Local, the HTTP API, the local event bus and the sweeper. */
export async function startLocalRuntime(opts: LocalRuntimeOptions = {}): Promise<LocalRuntime> {
  const dynamo: LocalDynamo | undefined = opts.dynamoEndpoint
    ? undefined
    : await startDynamoLocal({
        dataDir: opts.dataDir,
        ...(opts.onDatabaseLost ? { onLost: opts.onDatabaseLost } : {}),
      });
  const endpoint = opts.dynamoEndpoint ?? dynamo!.endpoint;
  // Its redirects answer before the click is written, so counter ADDs can gather a quarter second.
  const env = { COUNTER_ROLLUP_MS: '250', ...process.env, ...opts.env, DYNAMODB_ENDPOINT: endpoint };
  let bus: LocalBus | undefined;
  const deps = createDeps({ env, ...opts.deps, redeliver: (c, e) => bus!.redeliver(c, e) });
  const admin = new DynamoDBClient({
    endpoint,
    region: deps.config.AWS_REGION,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await ensureTable(admin, deps.config.TABLE_NAME);
  admin.destroy();

  bus = new LocalBus(deps, consumers, opts.bus);
  bus.start();

  let sweeping = false;
  const sweeper = setInterval(async () => {
    if (sweeping) return;
    sweeping = true;
    try {
      await sweepOnce(deps, sweepTasks);
    } catch (e) {
      deps.log.error('sweep failed', { error: e as Error });
    } finally {
      sweeping = false;
    }
  }, opts.sweepIntervalMs ?? 1000);

  const app = createFullApp(deps);
  const server: ServerType = await new Promise((ok) => {
    const s = serve({ fetch: app.fetch, port: opts.port ?? 3000, hostname: '0.0.0.0' }, () => ok(s));
  });
  answerClientErrors(server as Server);
  const closeServer = gracefulStop(server as Server);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : (opts.port ?? 3000);

  let stopped = false;
  return {
    url: `http://localhost:${port}`,
    deps,
    bus,
    server: server as Server,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(sweeper);
      await closeServer();
      // Redirects answer before their clicks are written: write them before the client goes.
      await settleClicks();
      await bus!.stop();
      deps.store.client.destroy();
      await dynamo?.stop();
    },
  };
}

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
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((r) => {
      timer = setTimeout(() => {
        server.closeAllConnections();
        r();
      }, STOP_GRACE_MS);
    });
    await Promise.race([closed, late]);
    clearTimeout(timer);
    await closed;
  };
}
