import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createFullApp } from '#functions/app';
import { consumers as allConsumers } from '#functions/consumers/index';
import { sweepTasks } from '#functions/sweeper/tasks';
import { type Clock, ManualClock, systemClock } from '#shared/clock';
import { createDeps, type Deps } from '#shared/deps';
import type { Consumer } from '#shared/events/consumer';
import type { AreaApp } from '#shared/http/context';
import { signJwt } from '#shared/http/jwt';
import { signWebhook } from '#shared/http/webhook';
import { sweepOnce } from '#shared/sweeper';
import { LocalBus, type LocalBusOptions } from '../../infra/local/bus.ts';
import { ensureTable } from '../../infra/local/table.ts';
import { dynamoEndpoint } from './dynamo-endpoint.ts';

export const TEST_ENV = {
  JWT_SECRET: 'test-jwt-secret',
  WEBHOOK_SECRET: 'test-webhook-secret',
  JWT_ISSUER: 'fission-local',
  JWT_AUDIENCE: 'fission',
  PUBLIC_BASE_URL: 'http://localhost:3000',
  ALLOWED_REDIRECT_HOSTS: 'shop.example.com,localhost',
  RATE_LIMIT_USER_PER_SEC: '0',
  RATE_LIMIT_IP_PER_SEC: '0',
  LOG_LEVEL: 'SILENT',
  AWS_REGION: 'local',
};

/** The headers of a shop webhook with body `raw`, signed with `secret` at `ts` (Unix seconds). */
export function webhookHeaders(
  raw: string,
  ts: number | string,
  secret: string = TEST_ENV.WEBHOOK_SECRET,
): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-fission-timestamp': String(ts),
    'x-fission-signature': signWebhook(secret, ts, raw),
  };
}

export interface Harness {
  deps: Deps;
  app: AreaApp;
  bus: LocalBus;
  clock: Clock;
  /** A bearer token for `sub` with `roles` (default `user`). */
  token(sub: string, roles?: string[], name?: string): string;
  /** `app.request` with JSON body and bearer token. */
  call(
    method: string,
    path: string,
    opts?: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> },
  ): Promise<{ status: number; body: any; headers: Headers; text: string }>;
  /** A signed shop webhook. */
  hook(
    path: string,
    body: unknown,
    opts?: { timestamp?: number; secret?: string },
  ): Promise<{ status: number; body: any; text: string }>;
  /** Delivers every pending event through the local bus. */
  drain(): Promise<void>;
  /** Runs the sweeper once. */
  sweep(): Promise<number>;
}

/**
 * A fresh table on the run's DynamoDB Local, the full app over it, and a local bus:
 * each test file (or test) gets its own, so nothing leaks between them.
 */
export async function createHarness(
  opts: { clock?: Clock; env?: Record<string, string>; consumers?: Consumer[]; bus?: LocalBusOptions } = {},
): Promise<Harness> {
  const endpoint = dynamoEndpoint();
  const tableName = `t-${randomUUID()}`;
  const clock = opts.clock ?? systemClock;
  let bus: LocalBus | undefined;
  const deps = createDeps({
    env: { ...TEST_ENV, ...opts.env, TABLE_NAME: tableName, DYNAMODB_ENDPOINT: endpoint },
    clock,
    redeliver: (c, e) => bus!.redeliver(c, e),
  });
  const admin = new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await ensureTable(admin, tableName);
  admin.destroy();
  bus = new LocalBus(deps, opts.consumers ?? allConsumers, { baseDelayMs: 1, ...opts.bus });
  const app = createFullApp(deps);
  const token = (sub: string, roles: string[] = ['user'], name?: string) =>
    signJwt(
      { sub, roles, ...(name ? { name } : {}) },
      {
        secret: deps.config.JWT_SECRET,
        issuer: deps.config.JWT_ISSUER,
        audience: deps.config.JWT_AUDIENCE,
        nowSeconds: Math.floor(clock.now() / 1000),
      },
    );
  const parse = async (r: Response) => {
    const text = await r.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    return { status: r.status, body, headers: r.headers, text };
  };
  return {
    deps,
    app,
    bus,
    clock,
    token,
    async call(method, path, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      if (o.token) headers.authorization = `Bearer ${o.token}`;
      let body: string | undefined = o.raw;
      if (o.body !== undefined) {
        body = JSON.stringify(o.body);
        headers['content-type'] ??= 'application/json';
      }
      return parse(await app.request(path, { method, headers, body }));
    },
    async hook(path, body, o = {}) {
      const raw = JSON.stringify(body);
      const ts = o.timestamp ?? Math.floor(clock.now() / 1000);
      const headers = webhookHeaders(raw, ts, o.secret ?? deps.config.WEBHOOK_SECRET);
      return parse(await app.request(path, { method: 'POST', body: raw, headers }));
    },
    drain: () => bus!.drain(),
    sweep: () => sweepOnce(deps, sweepTasks),
  };
}

export { ManualClock };
