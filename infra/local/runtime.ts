import type { Server } from 'node:http';
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
      await closeGracefully(server as Server);
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
 * Stops taking connections and lets the requests under way finish and be answered (their
 * writes are committing anyway), closing each keep-alive connection as it falls idle; what is
 * still open after STOP_GRACE_MS is cut.
 */
async function closeGracefully(server: Server): Promise<void> {
  const closed = new Promise<void>((r) => server.close(() => r()));
  const idle = setInterval(() => server.closeIdleConnections(), 50);
  server.closeIdleConnections();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((r) => {
    timer = setTimeout(() => {
      server.closeAllConnections();
      r();
    }, STOP_GRACE_MS);
  });
  await Promise.race([closed, late]);
  clearInterval(idle);
  clearTimeout(timer);
  await closed;
}
