import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { signJwt } from '#shared/http/jwt';
import { type LocalRuntime, startLocalRuntime } from '../../../infra/local/runtime.ts';
import { TEST_ENV } from '../../support/harness.ts';

const kolToken = () =>
  signJwt(
    { sub: 'kol-runtime', roles: ['user', 'kol'] },
    {
      secret: TEST_ENV.JWT_SECRET,
      issuer: TEST_ENV.JWT_ISSUER,
      audience: TEST_ENV.JWT_AUDIENCE,
      nowSeconds: Math.floor(Date.now() / 1000),
    },
  );

async function createLink(rt: LocalRuntime): Promise<string> {
  const r = await fetch(`${rt.url}/v1/links`, {
    method: 'POST',
    headers: { authorization: `Bearer ${kolToken()}`, 'content-type': 'application/json' },
    body: JSON.stringify({ targetUrl: 'https://shop.example.com/p/1' }),
  });
  expect(r.status).toBe(201);
  return ((await r.json()) as { code: string }).code;
}

/** `n` clicks on the link from `visitors` visitors, all answered before this returns. */
async function click(rt: LocalRuntime, code: string, n: number, visitors: number): Promise<void> {
  const answers = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      fetch(`${rt.url}/s/${code}`, {
        redirect: 'manual',
        headers: { 'user-agent': 'Mozilla/5.0', cookie: `fission_vid=runtime-visitor-${i % visitors}` },
      }),
    ),
  );
  expect(answers.map((a) => a.status)).toEqual(Array(n).fill(302));
}

async function counts(rt: LocalRuntime, code: string): Promise<{ clicks: number; uniqueClicks: number }> {
  const r = await fetch(`${rt.url}/v1/kol/links`, { headers: { authorization: `Bearer ${kolToken()}` } });
  const body = (await r.json()) as { items: { code: string; clicks: number; uniqueClicks: number }[] };
  return body.items.find((i) => i.code === code)!;
}

const javaHolding = (dir: string) => {
  try {
    return execFileSync('pgrep', ['-f', `DynamoDBLocal.*${dir}`], { encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
};

describe('The local runtime (npm start) across restarts', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('writes every click it answered before it stops, so a restart finds them all', async () => {
    const env = { ...TEST_ENV, TABLE_NAME: `t-${randomUUID()}` };
    const opts = { port: 0, env, dynamoEndpoint: inject('dynamoEndpoint'), sweepIntervalMs: 60_000 };
    const first = await startLocalRuntime(opts);
    const code = await createLink(first);
    await click(first, code, 120, 40);
    await first.stop(); // right after the answers: clicks and counter ADDs are still in flight
    const second = await startLocalRuntime(opts);
    try {
      expect(await counts(second, code)).toMatchObject({ clicks: 120, uniqueClicks: 40 });
    } finally {
      await second.stop();
    }
  });

  it('keeps its data on disk and leaves no DynamoDB Local process behind', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fission-runtime-'));
    dirs.push(dataDir);
    const opts = { port: 0, env: { ...TEST_ENV, TABLE_NAME: 'fission' }, dataDir, sweepIntervalMs: 60_000 };
    const first = await startLocalRuntime(opts);
    const code = await createLink(first);
    await click(first, code, 10, 5);
    await first.stop();
    expect(javaHolding(dataDir)).toBe('');
    const second = await startLocalRuntime(opts);
    try {
      expect(await counts(second, code)).toMatchObject({ clicks: 10, uniqueClicks: 5 });
    } finally {
      await second.stop();
    }
    expect(javaHolding(dataDir)).toBe('');
  }, 60_000);
});
