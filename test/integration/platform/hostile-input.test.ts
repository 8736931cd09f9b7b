import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { signWebhook } from '#shared/http/webhook';
import { createHarness, type Harness } from '../../support/harness.ts';

interface Operation {
  method: string;
  path: string;
  hasBody: boolean;
}

/** Every operation in the generated spec: new areas are covered as soon as they are mounted. */
async function operations(h: Harness): Promise<Operation[]> {
  const doc = (await h.call('GET', '/openapi.json')).body as {
    paths: Record<string, Record<string, { requestBody?: unknown }>>;
  };
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item).map(([method, op]) => ({
      method: method.toUpperCase(),
      path,
      hasBody: Boolean(op.requestBody),
    })),
  );
}

async function itemCount(h: Harness): Promise<number> {
  let n = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const r = await h.deps.store.client.send(
      new ScanCommand({ TableName: h.deps.config.TABLE_NAME, Select: 'COUNT', ExclusiveStartKey: start }),
    );
    n += r.Count ?? 0;
    start = r.LastEvaluatedKey;
  } while (start);
  return n;
}

const fill = (path: string, value: string) => path.replace(/\{[^}]+\}/g, encodeURIComponent(value));

describe('Hostile input on every route', () => {
  let h: Harness;
  let ops: Operation[];
  let token: string;
  const send = (op: Operation, path: string, raw: string | undefined) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (raw !== undefined) headers['content-type'] = 'application/json';
    if (op.path.startsWith('/v1/orders/')) {
      const ts = Math.floor(h.clock.now() / 1000);
      headers['x-fission-timestamp'] = String(ts);
      headers['x-fission-signature'] = signWebhook(h.deps.config.WEBHOOK_SECRET, ts, raw ?? '');
    }
    return h.call(op.method, path, { raw, headers });
  };

  beforeAll(async () => {
    h = await createHarness();
    ops = await operations(h);
    token = h.token('hostile', ['user', 'kol', 'finance', 'admin'], 'Mallory');
  });

  it('finds the routes in the spec', () => {
    expect(ops.length).toBeGreaterThanOrEqual(5);
  });

  it('refuses malformed and unexpected bodies with 400 validation_failed and writes nothing', async () => {
    const before = await itemCount(h);
    const bodies = ['{"a":', '[]', 'null', '"text"', '{"__proto__":{"admin":true},"zzz":1}', '{"zzz":1}'];
    for (const op of ops.filter((o) => o.hasBody)) {
      for (const raw of bodies) {
        const r = await send(op, fill(op.path, 'x1'), raw);
        expect({ op: `${op.method} ${op.path}`, raw, status: r.status, code: r.body?.code }).toEqual({
          op: `${op.method} ${op.path}`,
          raw,
          status: 400,
          code: 'validation_failed',
        });
        expect(r.headers.get('content-type')).toContain('application/problem+json');
      }
    }
    expect(await itemCount(h)).toBe(before);
  });

  it('answers 404 not_found to an id or code in the path that could never exist, and to an unknown one', async () => {
    const withParams = ops.filter((o) => o.path.includes('{'));
    expect(withParams.length).toBeGreaterThanOrEqual(10);
    // A route with a body checks the body before looking its object up: only the impossible id there.
    for (const op of withParams)
      for (const id of op.hasBody ? ['x'.repeat(300)] : ['x'.repeat(300), 'nope-0000']) {
        const r = await send(op, fill(op.path, id), op.hasBody ? '{}' : undefined);
        expect({ op: `${op.method} ${op.path}`, id, status: r.status, code: r.body?.code }).toEqual({
          op: `${op.method} ${op.path}`,
          id,
          status: 404,
          code: 'not_found',
        });
      }
  });

  it('takes an empty cursor as the first page', async () => {
    const r = await h.call('GET', '/v1/kol/links?cursor=', { token });
    expect([r.status, r.body.nextCursor]).toEqual([200, null]);
  });

  it('never answers 5xx to arbitrary path parameters, query strings and bodies', async () => {
    const text = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.constantFrom(
        '',
        ' ',
        '%00',
        '../../etc/passwd',
        '"; DROP TABLE',
        '<script>',
        '9'.repeat(400),
        '-1',
        '1e309',
        'null',
      ),
    );
    const body = fc.oneof(
      fc.json({ maxDepth: 3 }),
      fc.string({ maxLength: 60 }),
      fc.constant(''),
      fc
        .dictionary(
          fc.constantFrom('campaignId', 'orderId', 'amount', 'limit', 'targetUrl', 'status', 'type'),
          fc.anything(),
        )
        .map((o) => {
          try {
            return JSON.stringify(o);
          } catch {
            return '{}';
          }
        }),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...ops), text, text, body, async (op, param, query, raw) => {
        const path = `${fill(op.path, param || 'x')}?limit=${encodeURIComponent(query)}&cursor=${encodeURIComponent(query)}&from=${encodeURIComponent(query)}`;
        const r = await send(op, path, op.method === 'GET' ? undefined : raw);
        expect(r.status, `${op.method} ${path} ${raw} → ${r.text.slice(0, 200)}`).toBeLessThan(500);
      }),
      { numRuns: 400 },
    );
  });
});
