import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { areas } from '#functions/areas';
import { systemClock } from '#shared/clock';
import { createDeps } from '#shared/deps';
import { listDeadLetters } from '#shared/events/dead-letters';
import { buildEvent, outboxPut } from '#shared/events/outbox';
import { rules } from '#shared/events/rules';
import { signJwt } from '#shared/http/jwt';
import { ROOT } from '../../infra/lambdas.ts';
import { ensureTable } from '../../infra/local/table.ts';
import { dynamoEndpoint } from '../support/dynamo-endpoint.ts';

const run = promisify(execFile);

/**
 * `cdk synth` as a user runs it (no AWS credentials anywhere), once for this file; then the
 * bundles it wrote (esbuild output, not TypeScript) are imported in fresh Node processes and
 * called with sample API Gateway, EventBridge, SQS and stream events against DynamoDB Local.
 */
let out: string;
let synth: { stdout: string; stderr: string };
let template: { Resources: Record<string, { Type: string; Properties: any }> };

/** The bundle directory of the function with this description. */
function bundleOf(description: string | RegExp): string {
  const fn = Object.values(template.Resources).find(
    (r) =>
      r.Type === 'AWS::Lambda::Function' &&
      (typeof description === 'string'
        ? r.Properties.Description === description
        : description.test(r.Properties.Description)),
  );
  if (!fn) throw new Error(`no function described ${description}`);
  const hash = String(fn.Properties.Code.S3Key).replace(/\.zip$/, '');
  return join(out, `asset.${hash}`);
}

const CHILD = `
const { pathToFileURL } = await import('node:url');
const mod = await import(pathToFileURL(process.env.BUNDLE).href);
const context = { awsRequestId: 'req-1', functionName: 'fission-test', getRemainingTimeInMillis: () => 10000 };
const results = [];
for (const event of JSON.parse(process.env.EVENTS)) {
  try {
    results.push({ ok: true, result: (await mod.handler(event, context)) ?? null });
  } catch (e) {
    results.push({ ok: false, error: String(e && e.name) + ': ' + String(e && e.message) });
  }
}
// Exits once the answers are written: a pipe takes a large one in parts.
process.stdout.write(JSON.stringify(results), () => process.exit(0));
`;

let tableName: string;
let env: Record<string, string>;

/** Imports a bundle in a fresh Node process (no tsx, no TypeScript) and calls its handler with each event. */
async function invoke(
  bundleDir: string,
  events: unknown[],
  extraEnv: Record<string, string> = {},
): Promise<{ ok: boolean; result?: any; error?: string }[]> {
  const bundle = join(bundleDir, 'index.mjs');
  const r = await run(process.execPath, ['--input-type=module', '-e', CHILD], {
    env: { ...env, ...extraEnv, BUNDLE: bundle, EVENTS: JSON.stringify(events) },
    cwd: out,
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(r.stdout);
}

/** An SQS message as Lambda's event source hands it over, from the queue named `queue`. */
const sqsRecord = (messageId: string, body: string, queue: string) => ({
  messageId,
  receiptHandle: 'h',
  body,
  attributes: { SentTimestamp: String(Date.now()) },
  messageAttributes: {},
  md5OfBody: '',
  eventSource: 'aws:sqs',
  eventSourceARN: `arn:aws:sqs:us-east-1:123456789012:${queue}`,
  awsRegion: 'us-east-1',
});

function httpEvent(method: string, path: string, opts: { body?: unknown; headers?: Record<string, string> } = {}) {
  const headers = { host: 'api.example.com', 'user-agent': 'infra-test', ...opts.headers };
  return {
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: '',
    headers,
    requestContext: {
      accountId: '123456789012',
      apiId: 'api',
      domainName: 'api.example.com',
      domainPrefix: 'api',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.9', userAgent: 'infra-test' },
      requestId: randomUUID(),
      routeKey: `${method} ${path}`,
      stage: '$default',
      time: new Date().toISOString(),
      timeEpoch: Date.now(),
    },
    isBase64Encoded: false,
    ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
  };
}

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'fission-synth-'));
  const childEnv: Record<string, string | undefined> = {
    ...process.env,
    PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}`,
    CDK_DEFAULT_ACCOUNT: '123456789012',
    CDK_DEFAULT_REGION: 'us-east-1',
    AWS_SHARED_CREDENTIALS_FILE: join(out, 'no-credentials'),
    AWS_CONFIG_FILE: join(out, 'no-config'),
    AWS_EC2_METADATA_DISABLED: 'true',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
  };
  for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE'])
    delete childEnv[k];
  synth = await run(
    join(ROOT, 'node_modules', '.bin', 'cdk'),
    ['synth', '--quiet', '--no-notices', '--ci', '-o', out],
    {
      cwd: ROOT,
      env: childEnv,
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  template = JSON.parse(readFileSync(join(out, 'Fission.template.json'), 'utf8'));
  // On Lambda the runtime provides the AWS SDK; here the project's copy stands in for it.
  symlinkSync(join(ROOT, 'node_modules'), join(out, 'node_modules'), 'dir');

  const endpoint = dynamoEndpoint();
  tableName = `t-${randomUUID()}`;
  const admin = new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await ensureTable(admin, tableName);
  admin.destroy();
  env = {
    PATH: process.env.PATH ?? '',
    TABLE_NAME: tableName,
    DYNAMODB_ENDPOINT: endpoint,
    JWT_SECRET: 'bundle-test-secret',
    WEBHOOK_SECRET: 'bundle-test-webhook',
    AWS_REGION: 'local',
    LOG_LEVEL: 'SILENT',
    AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: '1',
    NODE_OPTIONS: '--enable-source-maps',
  };
}, 900_000);

afterAll(() => {
  if (out) rmSync(out, { recursive: true, force: true });
});

describe('cdk synth', () => {
  it('synthesizes without AWS credentials, cdk-nag clean, every Lambda bundled', () => {
    expect(synth.stderr).not.toMatch(/AwsSolutions-\w+/);
    const fns = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(fns.length).toBe(areas.length + 1 + rules.length * 2 + 3);
    for (const fn of fns) {
      const dir = bundleOf(fn.Properties.Description);
      expect(existsSync(join(dir, 'index.mjs')), fn.Properties.Description).toBe(true);
      expect(existsSync(join(dir, 'index.mjs.map')), fn.Properties.Description).toBe(true);
    }
  });

  it('bundles minified ESM with the require banner and leaves the AWS SDK to the runtime', () => {
    const code = readFileSync(join(bundleOf('Fission HTTP area campaigns'), 'index.mjs'), 'utf8');
    expect(
      code.startsWith("import { createRequire } from 'module'; const require = createRequire(import.meta.url);"),
    ).toBe(true);
    expect(code).toMatch(/from\s*"@aws-sdk\/client-dynamodb"/);
    expect(code.length / code.split('\n').length, 'minified: long lines').toBeGreaterThan(1000);
    expect(code).not.toMatch(/class DynamoDBClient\b/);
  });
});

describe('bundled Lambdas against DynamoDB Local', () => {
  it('the system bundle answers GET /health, a 404 problem for an unknown path, and serves the spec', async () => {
    const [health, missing, spec] = await invoke(bundleOf(/^Fission HTTP system routes/), [
      httpEvent('GET', '/health'),
      httpEvent('GET', '/v1/nothing-here'),
      httpEvent('GET', '/openapi.json'),
    ]);
    expect(health).toMatchObject({ ok: true, result: { statusCode: 200 } });
    expect(JSON.parse(health!.result.body)).toEqual({ status: 'ok' });
    expect(missing!.result.statusCode).toBe(404);
    expect(JSON.parse(missing!.result.body).code).toBe('not_found');
    const doc = JSON.parse(spec!.result.body);
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toContain('/v1/admin/campaigns');
  });

  it('the campaigns bundle creates a campaign for an admin token and refuses a user', async () => {
    const token = (roles: string[]) =>
      signJwt(
        { sub: 'admin-1', roles },
        {
          secret: env.JWT_SECRET!,
          issuer: 'fission-local',
          audience: 'fission',
          nowSeconds: Math.floor(Date.now() / 1000),
        },
      );
    const body = {
      type: 'bargain',
      title: 'Bundle test',
      rules: { sku: 'sku-1', originalPrice: 2000, floorPrice: 500, helpersRequired: 3, durationSeconds: 600 },
    };
    const headers = (t: string) => ({
      authorization: `Bearer ${t}`,
      'content-type': 'application/json',
      'idempotency-key': randomUUID(),
    });
    const [created, forbidden] = await invoke(bundleOf('Fission HTTP area campaigns'), [
      httpEvent('POST', '/v1/admin/campaigns', { body, headers: headers(token(['admin'])) }),
      httpEvent('POST', '/v1/admin/campaigns', { body, headers: headers(token(['user'])) }),
    ]);
    expect(created).toMatchObject({ ok: true, result: { statusCode: 201 } });
    const campaign = JSON.parse(created!.result.body);
    expect(campaign).toMatchObject({ type: 'bargain', title: 'Bundle test', status: 'active' });
    expect(campaign.id).toMatch(/^cmp_/);
    expect(forbidden!.result.statusCode).toBe(403);
  });

  it('a consumer bundle handles an EventBridge event and refuses a malformed one', async () => {
    const event = buildEvent(
      'OrderPaid',
      {
        orderId: 'ord-1',
        userId: 'u-bundle',
        amount: 1000,
        currency: 'CNY',
        paidAt: new Date().toISOString(),
        firstOrder: true,
      },
      systemClock,
    );
    const eventBridge = (detail: unknown) => ({
      version: '0',
      id: randomUUID(),
      'detail-type': 'OrderPaid',
      source: event.source,
      account: '123456789012',
      time: event.time,
      region: 'us-east-1',
      resources: [],
      detail,
    });
    const [good, bad] = await invoke(bundleOf(/^Fission consumer invites-order-paid:/), [
      eventBridge(event.detail),
      eventBridge({ orderId: 1 }),
    ]);
    expect(good).toEqual({ ok: true, result: null });
    expect(bad!.ok).toBe(false);
    expect(bad!.error).toMatch(/invalid OrderPaid detail/);
  });

  it('the outbox enrichment turns a stream record into detail-type, time and the parsed detail', async () => {
    const event = buildEvent(
      'OrderPaid',
      { orderId: 'o-2', userId: 'u2', amount: 1, currency: 'CNY', paidAt: new Date().toISOString(), firstOrder: false },
      systemClock,
    );
    const record = {
      eventName: 'INSERT',
      eventSource: 'aws:dynamodb',
      dynamodb: {
        NewImage: {
          pk: { S: `OUTBOX#${event.id}` },
          sk: { S: 'EVENT' },
          entity: { S: 'outbox' },
          eventId: { S: event.id },
          detailType: { S: event['detail-type'] },
          detail: { S: JSON.stringify(event.detail) },
          occurredAt: { S: event.time },
        },
      },
    };
    const [r] = await invoke(bundleOf(/^Fission outbox Pipe enrichment/), [[record]]);
    expect(r).toEqual({
      ok: true,
      result: [{ detailType: event['detail-type'], time: event.time, detail: event.detail }],
    });
  });

  it('the outbox redrive bundle puts the events of a batch the Pipe gave up on back on the bus', async () => {
    // One stand-in for EventBridge (PutEvents, recorded) and for DynamoDB Streams: shard
    // `shard-live` still has its records, `shard-trimmed` has lost them.
    const paidAt = new Date().toISOString();
    const streamOnly = { eventId: `evt_stream_${randomUUID()}`, orderId: `o-stream-${randomUUID()}` };
    const streamRecord = {
      eventName: 'INSERT',
      dynamodb: {
        SequenceNumber: '7',
        NewImage: {
          pk: { S: `EVENT#${streamOnly.eventId}` },
          sk: { S: 'EVENT' },
          entity: { S: 'outbox' },
          eventId: { S: streamOnly.eventId },
          detailType: { S: 'OrderPaid' },
          detail: { S: JSON.stringify(streamOnly) },
          occurredAt: { S: paidAt },
        },
      },
    };
    const sent: { Source: string; DetailType: string; Detail: string; EventBusName: string }[] = [];
    const fake = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => {
        body += d;
      });
      req.on('end', () => {
        const input = JSON.parse(body);
        const target = String(req.headers['x-amz-target']);
        const answer = (status: number, json: unknown) => {
          res.statusCode = status;
          res.setHeader('content-type', 'application/x-amz-json-1.0');
          res.end(JSON.stringify(json));
        };
        if (target === 'AWSEvents.PutEvents') {
          sent.push(...input.Entries);
          answer(200, {
            FailedEntryCount: 0,
            Entries: input.Entries.map((_: unknown, i: number) => ({ EventId: `e${i}` })),
          });
        } else if (target.endsWith('.GetShardIterator') && input.ShardId === 'shard-live') {
          answer(200, { ShardIterator: 'live-1' });
        } else if (target.endsWith('.GetShardIterator')) {
          answer(400, { __type: 'com.amazonaws.dynamodb.v20120810#TrimmedDataAccessException', message: 'trimmed' });
        } else if (target.endsWith('.GetRecords')) {
          answer(200, { Records: [streamRecord], NextShardIterator: 'live-2' });
        } else answer(400, { __type: 'UnknownOperationException', message: target });
      });
    });
    await new Promise<void>((ok) => fake.listen(0, '127.0.0.1', ok));
    try {
      const deps = createDeps({ env });
      const order = {
        orderId: `o-${randomUUID()}`,
        userId: 'u3',
        amount: 5,
        currency: 'CNY',
        paidAt,
        firstOrder: false,
      };
      await deps.store.transact([outboxPut('OrderPaid', order, systemClock)]);
      deps.store.client.destroy();
      const failedBatch = (shardId: string | undefined, arrival: string, batchSize: number) =>
        JSON.stringify({
          version: '1.0',
          timestamp: new Date().toISOString(),
          DDBStreamBatchInfo: {
            ...(shardId ? { shardId, startSequenceNumber: '7', endSequenceNumber: '7', streamArn: 'arn:stream' } : {}),
            approximateArrivalOfFirstRecord: arrival,
            approximateArrivalOfLastRecord: arrival,
            batchSize,
          },
        });
      const { port } = fake.address() as AddressInfo;
      const [r] = await invoke(
        bundleOf(/^Fission outbox redrive/),
        [
          {
            Records: [
              // From the stream, exactly: its arrival time has nothing in the outbox, so only the stream can give it.
              sqsRecord('m-1', failedBatch('shard-live', '2020-01-01T00:00:00Z', 1), 'pipe-dlq'),
              sqsRecord('m-2', '{"not":"a batch"}', 'pipe-dlq'),
              // Neither on the stream nor in the outbox any more: stays queued.
              sqsRecord('m-3', failedBatch(undefined, '2020-01-01T00:00:00Z', 3), 'pipe-dlq'),
              // The stream lost it: read from the outbox around its arrival.
              sqsRecord('m-4', failedBatch('shard-trimmed', paidAt, 1), 'pipe-dlq'),
            ],
          },
        ],
        {
          AWS_ENDPOINT_URL_EVENTBRIDGE: `http://127.0.0.1:${port}`,
          AWS_ENDPOINT_URL_DYNAMODB_STREAMS: `http://127.0.0.1:${port}`,
          AWS_ACCESS_KEY_ID: 'local',
          AWS_SECRET_ACCESS_KEY: 'local',
        },
      );
      expect(r).toEqual({
        ok: true,
        result: { batchItemFailures: [{ itemIdentifier: 'm-2' }, { itemIdentifier: 'm-3' }] },
      });
      const byOrder = (id: string) => sent.filter((e) => JSON.parse(e.Detail).orderId === id);
      expect(byOrder(streamOnly.orderId)).toEqual([
        expect.objectContaining({ Source: 'fission.growth', DetailType: 'OrderPaid', EventBusName: 'fission' }),
      ]);
      const ours = byOrder(order.orderId);
      expect(ours).toHaveLength(1);
      expect(JSON.parse(ours[0]!.Detail)).toMatchObject(order);
    } finally {
      await new Promise<void>((ok) => fake.close(() => ok()));
    }
  });

  it('the dead-letter recorder bundle stores what reaches a DLQ, so the admin API lists it', async () => {
    const detail = { eventId: 'evt_dead_1', occurredAt: new Date().toISOString(), version: 1 };
    const lambdaFailure = {
      version: '1.0',
      timestamp: new Date().toISOString(),
      requestContext: { requestId: 'r', functionArn: 'arn', condition: 'RetriesExhausted', approximateInvokeCount: 3 },
      requestPayload: {
        id: 'eb-1',
        source: 'fission.growth',
        'detail-type': 'OrderPaid',
        time: detail.occurredAt,
        detail,
      },
      responseContext: { statusCode: 200, functionError: 'Unhandled' },
      responsePayload: { errorType: 'Error', errorMessage: 'ledger unavailable' },
    };
    const sqs = {
      Records: [sqsRecord('m-1', JSON.stringify(lambdaFailure), 'dlq'), sqsRecord('m-2', 'not json', 'dlq')],
    };
    const dir = bundleOf(/^Fission dead-letter recorder.*\(invites-order-paid\)$/);
    // SQS delivers at least once: the same batch arrives twice.
    const [r, again] = await invoke(dir, [sqs, sqs], { DEAD_LETTER_CONSUMER: 'invites-order-paid' });
    expect(r).toEqual({ ok: true, result: { batchItemFailures: [{ itemIdentifier: 'm-2' }] } });
    expect(again).toEqual(r);
    const deps = createDeps({ env });
    const page = await listDeadLetters(deps, { limit: 10 });
    deps.store.client.destroy();
    expect(page.items).toHaveLength(1);
    expect(page.items[0]).toMatchObject({
      consumer: 'invites-order-paid',
      event: { id: 'evt_dead_1', 'detail-type': 'OrderPaid', detail },
      error: 'Error: ledger unavailable',
      attempts: 3,
      status: 'dead',
    });
  });
});
