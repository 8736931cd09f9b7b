import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { outboxPut } from '#shared/events/outbox';
import { signJwt } from '#shared/http/jwt';
import { findBalances } from '#shared/store/ledger';
import { ROOT } from '../../../infra/lambdas.ts';
import { claimDataDir, DataDirInUseError } from '../../../infra/local/data-dir.ts';
import { freePort, WATCHDOG_MARK } from '../../../infra/local/dynamodb.ts';
import { startLocalRuntime } from '../../../infra/local/runtime.ts';
import { ensureTable } from '../../../infra/local/table.ts';
import { dynamoEndpoint } from '../../support/dynamo-endpoint.ts';
import { createHarness, TEST_ENV, webhookHeaders } from '../../support/harness.ts';

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

async function createLink(rt: { url: string }): Promise<string> {
  const r = await fetch(`${rt.url}/v1/links`, {
    method: 'POST',
    headers: { authorization: `Bearer ${kolToken()}`, 'content-type': 'application/json' },
    body: JSON.stringify({ targetUrl: 'https://shop.example.com/p/1' }),
  });
  expect(r.status).toBe(201);
  return ((await r.json()) as { code: string }).code;
}

/** `n` clicks on the link from `visitors` visitors, all answered before this returns. */
async function click(rt: { url: string }, code: string, n: number, visitors: number): Promise<void> {
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

async function counts(rt: { url: string }, code: string): Promise<{ clicks: number; uniqueClicks: number }> {
  const r = await fetch(`${rt.url}/v1/kol/links`, { headers: { authorization: `Bearer ${kolToken()}` } });
  const body = (await r.json()) as { items: { code: string; clicks: number; uniqueClicks: number }[] };
  return body.items.find((i) => i.code === code)!;
}

/** Servers this file started: whatever a failing test leaves running is killed at the end. */
const started: { child: ChildProcess; dataDir: string }[] = [];

/** The `start` script of package.json, run as npm runs it (a shell, `node_modules/.bin` first on the PATH). */
const START = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } }).scripts
  .start;

/**
 * Java's temporary folder for the servers these tests start: DynamoDB Local unpacks its SQLite
 * library there, and a Java these tests kill with SIGKILL cannot remove its copy.
 */
const javaTmp = mkdtempSync(join(tmpdir(), 'fission-java-'));
afterAll(() => rmSync(javaTmp, { recursive: true, force: true }));

/** `npm start`'s command in a process group of its own, on `port` and `dataDir`. */
function spawnServer(
  port: number,
  dataDir: string,
  stderr: 'ignore' | 'pipe' = 'ignore',
  env: Record<string, string | undefined> = {},
): ChildProcess {
  const all: Record<string, string | undefined> = {
    ...process.env,
    ...TEST_ENV,
    PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}`,
    PORT: String(port),
    DATA_DIR: dataDir,
    JAVA_TOOL_OPTIONS: [process.env.JAVA_TOOL_OPTIONS, `-Djava.io.tmpdir=${javaTmp}`].filter(Boolean).join(' '),
    ...env,
  };
  const child = spawn('sh', ['-c', START], {
    cwd: ROOT,
    // A variable given as undefined is left out (not set at all).
    env: Object.fromEntries(Object.entries(all).filter(([, v]) => v !== undefined)),
    detached: true,
    stdio: ['ignore', 'ignore', stderr],
  });
  started.push({ child, dataDir });
  child.on('error', () => {}); // a failed spawn shows as the exit code
  return child;
}

/** `npm start`'s entry point, answering on `port`. */
async function startServer(port: number, dataDir: string): Promise<ChildProcess> {
  const child = spawnServer(port, dataDir);
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}`);
    const up = await fetch(`http://localhost:${port}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) return child;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the server did not come up');
}

/** A fresh data directory (noted in `dirs`) with `npm start` serving on a free port, and one KOL link clicked `clicks` times by `visitors`. */
async function serverWithClicks(dirs: string[], clicks: number, visitors: number) {
  const dataDir = mkdtempSync(join(tmpdir(), 'fission-runtime-'));
  dirs.push(dataDir);
  const port = await freePort();
  const rt = { url: `http://localhost:${port}` };
  const server = await startServer(port, dataDir);
  const code = await createLink(rt);
  await click(rt, code, clicks, visitors);
  return { dataDir, port, rt, server, code };
}

/** `npm start`'s entry point run until it ends by itself (or fails the test after 60 s): its exit code and stderr. */
async function runUntilExit(
  port: number,
  dataDir: string,
  env: Record<string, string> = {},
): Promise<{ code: number | null; stderr: string }> {
  const child = spawnServer(port, dataDir, 'pipe', env);
  let stderr = '';
  child.stderr!.on('data', (d) => {
    stderr += d;
  });
  const code = await new Promise<number | null>((ok, fail) => {
    child.once('close', ok);
    setTimeout(() => fail(new Error('the server did not exit')), 60_000).unref();
  });
  return { code, stderr };
}

/** SIGKILL to the server's whole process group (Node, not its DynamoDB Local), then waits for it to exit. */
async function killNode(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(-child.pid!, 'SIGKILL');
  await exited;
}

/** SIGINT to the server's whole process group, then waits (at most 30 s) for the server to exit. */
async function interrupt(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(-child.pid!, 'SIGINT');
  const timeout = new Promise((_, fail) =>
    setTimeout(() => fail(new Error('the server did not stop')), 30_000).unref(),
  );
  await Promise.race([exited, timeout]);
}

/** Kills what a failed test left: the servers' process groups, and every DynamoDB Local on their data directories. */
function killLeftovers(): void {
  for (const { child, dataDir } of started) {
    if (child.exitCode === null && child.signalCode === null)
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {}
    for (const pid of javaOn(dataDir))
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
  }
}

/** The pids of the DynamoDB Local processes keeping their data in `dir`. */
const javaOn = (dir: string): number[] => {
  try {
    return execFileSync('pgrep', ['-f', `DynamoDBLocal.*${dir}`], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .map(Number);
  } catch {
    return [];
  }
};

/** The pid of the watchdog that kills DynamoDB Local `javaPid` when its Node dies, if it runs. */
const watchdogOf = (javaPid: number): number | undefined => {
  try {
    return Number(
      execFileSync('pgrep', ['-f', `${WATCHDOG_MARK}.*kill -9 ${javaPid} 2>`], { encoding: 'utf8' }).trim(),
    );
  } catch {
    return undefined;
  }
};

/** What the pid file of `dataDir` says: its server's Node process and that server's DynamoDB Local. */
const owner = (dataDir: string) =>
  JSON.parse(readFileSync(join(dataDir, 'dynamodb.pid'), 'utf8')) as {
    node: { pid: number };
    java: { pid: number };
  };

/** The process group of `pid`, from /proc. */
const groupOf = (pid: number) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
};

describe('The local runtime (npm start) across restarts', () => {
  const dirs: string[] = [];
  afterAll(() => {
    killLeftovers();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('writes every click it answered before it stops, so a restart finds them all', async () => {
    const env = { ...TEST_ENV, TABLE_NAME: `t-${randomUUID()}` };
    const opts = { port: 0, env, dynamoEndpoint: dynamoEndpoint(), sweepIntervalMs: 60_000 };
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

  it('delivers the events an earlier run left in the outbox before it takes requests', async () => {
    // Prepare: a table whose outbox holds qualified invites no bus has delivered (a stop lets its queue go).
    const h = await createHarness();
    const invites = Array.from({ length: 40 }, (_, i) => ({
      inviteId: `inv-left-${i}`,
      campaignId: 'cmp-left',
      inviterId: `inviter-left-${i}`,
      inviteeId: `invitee-left-${i}`,
      rewarded: true,
      held: false,
      inviterReward: { asset: 'cash' as const, amount: 100 },
      inviteeReward: { asset: 'points' as const, amount: 10 },
      lockSeconds: 0,
    }));
    for (const d of invites) await h.deps.store.transact([outboxPut('InviteQualified', d, h.clock)]);

    // Act
    const rt = await startLocalRuntime({
      port: 0,
      env: { ...TEST_ENV, TABLE_NAME: h.deps.config.TABLE_NAME },
      dynamoEndpoint: dynamoEndpoint(),
      sweepIntervalMs: 60_000,
    });

    // Assess: every reward is in the ledger the moment the server listens, before any request.
    try {
      const balances = await Promise.all(invites.map((d) => findBalances(h.deps.store, d.inviterId)));
      expect(balances.map((b) => b.find((x) => x.asset === 'cash')?.available)).toEqual(Array(40).fill(100));
    } finally {
      await rt.stop();
    }
  });

  it('takes no new connection from the moment it starts stopping, before its sweeper has finished its round', async () => {
    const env = { ...TEST_ENV, TABLE_NAME: `t-${randomUUID()}` };
    const rt = await startLocalRuntime({ port: 0, env, dynamoEndpoint: dynamoEndpoint(), sweepIntervalMs: 60_000 });
    const stopping = rt.stop();
    try {
      expect(rt.server.listening).toBe(false);
      await expect(fetch(`${rt.url}/health`)).rejects.toThrow();
    } finally {
      await stopping;
    }
  });

  it('answers every request it received before it stops, and keeps what they wrote', async () => {
    const env = { ...TEST_ENV, TABLE_NAME: `t-${randomUUID()}` };
    const opts = { port: 0, env, dynamoEndpoint: dynamoEndpoint(), sweepIntervalMs: 60_000 };
    const first = await startLocalRuntime(opts);
    let received = 0;
    first.server.on('request', () => received++);
    const n = 30;
    const answers = Array.from({ length: n }, (_, i) =>
      fetch(`${first.url}/v1/links`, {
        method: 'POST',
        headers: { authorization: `Bearer ${kolToken()}`, 'content-type': 'application/json' },
        body: JSON.stringify({ targetUrl: `https://shop.example.com/p/${i}` }),
      }).then(
        (r) => r.status,
        (e: Error) => e.message,
      ),
    );
    while (received < n) await new Promise((r) => setTimeout(r, 1));
    await first.stop(); // every request is in the server, most not yet answered
    expect(await Promise.all(answers)).toEqual(Array(n).fill(201));
    const second = await startLocalRuntime(opts);
    try {
      const r = await fetch(`${second.url}/v1/kol/links?limit=100`, {
        headers: { authorization: `Bearer ${kolToken()}` },
      });
      expect(((await r.json()) as { items: unknown[] }).items).toHaveLength(n);
    } finally {
      await second.stop();
    }
  });

  it('npm start: Ctrl-C to its process group writes the clicks it answered, keeps the data, leaves no Java', async () => {
    const { dataDir, port, rt, server: first, code } = await serverWithClicks(dirs, 120, 40);
    await interrupt(first); // as a terminal does: SIGINT to every process of the group at once
    expect(javaOn(dataDir)).toEqual([]);
    const second = await startServer(port, dataDir);
    try {
      expect(await counts(rt, code)).toMatchObject({ clicks: 120, uniqueClicks: 40 });
    } finally {
      await interrupt(second);
    }
    expect(javaOn(dataDir)).toEqual([]);
  }, 90_000);

  it('npm start: SIGTERM to its own process alone (as docker, systemd or timeout send it) stops everything', async () => {
    const { dataDir, server } = await serverWithClicks(dirs, 6, 2);
    const groupAlive = () => {
      try {
        process.kill(-server.pid!, 0);
        return true;
      } catch {
        return false;
      }
    };
    process.kill(server.pid!, 'SIGTERM');
    await expect.poll(groupAlive, { timeout: 30_000 }).toBe(false);
    expect(javaOn(dataDir)).toEqual([]);
  }, 90_000);

  it('npm start: exits with an error when its DynamoDB Local goes away', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fission-runtime-'));
    dirs.push(dataDir);
    const server = await startServer(await freePort(), dataDir);
    const exited = new Promise<number | null>((r) => server.once('exit', (code) => r(code)));
    process.kill(owner(dataDir).java.pid, 'SIGKILL');
    expect(await exited).toBe(1);
  }, 60_000);

  it('npm start: a second start on a data directory in use exits naming the running server, which keeps serving; after a SIGKILL the next start kills the orphaned Java', async () => {
    const { dataDir, port, rt, server: first, code } = await serverWithClicks(dirs, 12, 4);
    await expect.poll(() => counts(rt, code), { timeout: 20_000 }).toMatchObject({ clicks: 12, uniqueClicks: 4 });
    const running = owner(dataDir);
    expect(groupOf(running.node.pid)).toBe(first.pid); // the pid file names the first server's Node

    // Same data directory and same port, as a second npm start in another terminal.
    const second = await runUntilExit(port, dataDir);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(
      `Could not start: ${dataDir} is in use by the Fission server with pid ${running.node.pid}: stop it, or set DATA_DIR to another directory.`,
    );
    expect(owner(dataDir)).toEqual(running);
    expect(javaOn(dataDir)).toEqual([running.java.pid]);
    expect((await fetch(`${rt.url}/health`)).status).toBe(200);
    expect(await counts(rt, code)).toMatchObject({ clicks: 12, uniqueClicks: 4 });
    const later = await createLink(rt); // its DynamoDB Local still takes writes

    // A crash that takes the watchdog with it: Node is gone, its Java (a process group of its own) is not.
    process.kill(watchdogOf(running.java.pid)!, 'SIGKILL');
    await killNode(first);
    expect(javaOn(dataDir)).toEqual([running.java.pid]);
    const third = await startServer(port, dataDir);
    try {
      const now = owner(dataDir);
      expect(now.java.pid).not.toBe(running.java.pid);
      expect(javaOn(dataDir)).toEqual([now.java.pid]);
      expect(await counts(rt, code)).toMatchObject({ clicks: 12, uniqueClicks: 4 });
      expect(await counts(rt, later)).toMatchObject({ clicks: 0 });
    } finally {
      await interrupt(third);
    }
    expect(javaOn(dataDir)).toEqual([]);
    expect(existsSync(join(dataDir, 'dynamodb.pid'))).toBe(false);
  }, 180_000);

  it('npm start: a SIGKILL of Node takes its DynamoDB Local with it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fission-runtime-'));
    dirs.push(dataDir);
    const server = await startServer(await freePort(), dataDir);
    const { java } = owner(dataDir);
    expect(watchdogOf(java.pid)).toBeGreaterThan(0);
    await killNode(server); // no exit handler runs
    await expect.poll(() => javaOn(dataDir), { timeout: 10_000 }).toEqual([]);
    expect(watchdogOf(java.pid)).toBeUndefined();
  }, 60_000);

  it('npm start: a bad setting stops it at once with one line naming the variable, before DynamoDB Local starts', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fission-runtime-'));
    dirs.push(dataDir);
    const port = await freePort();
    for (const [env, says] of [
      [{ SWEEP_INTERVAL_MS: 'fast' }, 'Could not start: SWEEP_INTERVAL_MS must be a whole number'],
      [{ PORT: '70000' }, 'Could not start: PORT must be a whole number from 0 to 65535'],
      [{ LOG_LEVEL: 'verbose' }, 'Could not start: Invalid configuration: LOG_LEVEL'],
    ] as const) {
      const r = await runUntilExit(port, dataDir, env);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(says);
      expect(r.stderr).not.toMatch(/^\s+at /m); // no stack trace
    }
    expect(javaOn(dataDir)).toEqual([]);
  }, 60_000);

  it('npm start: without ALLOWED_REDIRECT_HOSTS, links may point at the example shop and localhost, with a warning', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fission-runtime-'));
    dirs.push(dataDir);
    const port = await freePort();
    const child = spawnServer(port, dataDir, 'pipe', { ALLOWED_REDIRECT_HOSTS: undefined });
    let stderr = '';
    child.stderr!.on('data', (d) => {
      stderr += d;
    });
    for (
      let i = 0;
      i < 300 &&
      !(await fetch(`http://localhost:${port}/health`).then(
        (r) => r.ok,
        () => false,
      ));
      i++
    )
      await new Promise((r) => setTimeout(r, 200));
    const rt = { url: `http://localhost:${port}` };
    await createLink(rt); // to https://shop.example.com/p/1
    const off = await fetch(`${rt.url}/v1/links`, {
      method: 'POST',
      headers: { authorization: `Bearer ${kolToken()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ targetUrl: 'https://evil.example.net/' }),
    });
    expect(off.status).toBe(400);
    expect(stderr).toContain('ALLOWED_REDIRECT_HOSTS is not set');
    await interrupt(child);
  });

  it('npm start: a port already in use ends it with a message before DynamoDB Local starts', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fission-runtime-'));
    dirs.push(dataDir);
    const taken = createServer();
    const port = await new Promise<number>((ok) =>
      taken.listen(0, '0.0.0.0', () => ok((taken.address() as { port: number }).port)),
    );
    try {
      const run = await runUntilExit(port, dataDir);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(
        `Could not start: Port ${port} is already in use: stop what listens on it, or set PORT.`,
      );
      expect(javaOn(dataDir)).toEqual([]);
      expect(existsSync(join(dataDir, 'dynamodb.pid'))).toBe(false);
    } finally {
      taken.close();
    }
  }, 60_000);
});

describe('Claiming a data directory', () => {
  const dirs: string[] = [];
  const others: ChildProcess[] = [];
  afterAll(() => {
    for (const p of others) p.kill('SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  /** A live process that is neither a Fission server nor a DynamoDB Local: `node` or `sleep`. */
  const unrelated = async (command: 'node' | 'sleep') => {
    const args = command === 'node' ? ['-e', 'setTimeout(() => {}, 120_000)'] : ['120'];
    const p = spawn(command === 'node' ? process.execPath : 'sleep', args, { stdio: 'ignore' });
    others.push(p);
    await new Promise((r) => p.once('spawn', r));
    return p.pid!;
  };
  const isAlive = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';

  const dataDirWith = (pidFile: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'fission-claim-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'dynamodb.pid'), pidFile);
    return dir;
  };

  it('takes over a pid file whose pids now belong to other processes, and kills none of them', async () => {
    const node = await unrelated('node');
    const sleep = await unrelated('sleep');
    const cases = [
      // a Node process, but not the one that wrote the file (another start time); a Java pid that is not Java
      JSON.stringify({ node: { pid: node, start: '1' }, java: { pid: sleep } }),
      // a process that is not Node
      JSON.stringify({ node: { pid: sleep }, java: { pid: node } }),
      // an earlier version's Java pid, now another process's
      String(sleep),
    ];
    for (const pidFile of cases) {
      const dir = dataDirWith(pidFile);
      const claim = await claimDataDir(dir);
      expect(JSON.parse(readFileSync(join(dir, 'dynamodb.pid'), 'utf8')).node.pid).toBe(process.pid);
      claim.release();
      expect(existsSync(join(dir, 'dynamodb.pid'))).toBe(false);
    }
    expect([isAlive(node), isAlive(sleep)]).toEqual([true, true]);
  });

  it('refuses a data directory whose owner still runs, and leaves its pid file as it was', async () => {
    const node = await unrelated('node');
    const pidFile = JSON.stringify({ node: { pid: node } });
    const dir = dataDirWith(pidFile);
    const refused = await claimDataDir(dir).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DataDirInUseError);
    expect(refused).toMatchObject({ dataDir: dir, pid: node });
    expect(readFileSync(join(dir, 'dynamodb.pid'), 'utf8')).toBe(pidFile);
    expect(isAlive(node)).toBe(true);
  });
});

describe('The local server, read right after an action', () => {
  const tokenOf = (sub: string, roles: string[]) =>
    signJwt(
      { sub, roles },
      {
        secret: TEST_ENV.JWT_SECRET,
        issuer: TEST_ENV.JWT_ISSUER,
        audience: TEST_ENV.JWT_AUDIENCE,
        nowSeconds: Math.floor(Date.now() / 1000),
      },
    );

  /** A local runtime with a KOL's link in a commission campaign, and an order paid through that link. */
  async function shopWith(rules: Record<string, unknown>) {
    const env = { ...TEST_ENV, TABLE_NAME: `t-${randomUUID()}` };
    const rt = await startLocalRuntime({ port: 0, env, dynamoEndpoint: dynamoEndpoint(), sweepIntervalMs: 60_000 });
    const api = async (method: string, path: string, token: string, body?: unknown) => {
      const r = await fetch(`${rt.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: r.status, body: (await r.json()) as any };
    };
    const kol = tokenOf(`kol-${randomUUID()}`, ['user', 'kol']);
    const campaign = await api('POST', '/v1/admin/campaigns', tokenOf('admin', ['admin']), {
      type: 'commission',
      title: 'At once',
      rules,
    });
    const link = await api('POST', '/v1/links', kol, {
      targetUrl: 'https://shop.example.com/p/1',
      campaignId: campaign.body.id,
    });
    /** A click on the link by `buyer`, then their order of ¥100 with its token: whether it was attributed. */
    const buy = async (buyer: string): Promise<boolean> => {
      const redirect = await fetch(`${rt.url}/s/${link.body.code}`, {
        redirect: 'manual',
        headers: { 'user-agent': 'Mozilla/5.0', cookie: `fission_vid=${buyer}` },
      });
      const ref = new URL(redirect.headers.get('location')!).searchParams.get('fission_ref');
      const raw = JSON.stringify({
        orderId: `order-${randomUUID()}`,
        userId: buyer,
        amount: 10000,
        paidAt: new Date().toISOString(),
        attributionToken: ref,
      });
      const paid = await fetch(`${rt.url}/v1/orders/paid`, {
        method: 'POST',
        headers: webhookHeaders(raw, Math.floor(Date.now() / 1000)),
        body: raw,
      });
      return ((await paid.json()) as { attributed: boolean }).attributed;
    };
    return { rt, api, kol, buy };
  }

  it('shows the stats and rewards the events of an order lead to at once', async () => {
    const { rt, api, kol, buy } = await shopWith({ rateBps: 1000 });
    try {
      const today = new Date().toISOString().slice(0, 10);
      for (let i = 1; i <= 10; i++) {
        expect(await buy(`buyer-${i}`)).toBe(true);
        const [stats, rewards] = await Promise.all([
          api('GET', `/v1/kol/stats?from=${today}&to=${today}`, kol),
          api('GET', '/v1/rewards/mine', kol),
        ]);
        expect(stats.body.totals).toMatchObject({ clicks: i, conversions: i, commission: 1000 * i });
        expect(rewards.body.balances.cash.locked).toBe(1000 * i);
      }
    } finally {
      await rt.stop();
    }
  });

  it('unlocks a commission at its unlockAt, not at the next sweep round (a minute off here)', async () => {
    const { rt, api, kol, buy } = await shopWith({ rateBps: 1000, lockSeconds: 1 });
    try {
      expect(await buy('buyer-lock')).toBe(true);
      const [locked] = (await api('GET', '/v1/rewards/mine', kol)).body.entries.items;
      expect(locked).toMatchObject({ state: 'locked', amount: 1000 });
      await new Promise((r) => setTimeout(r, Date.parse(locked.unlockAt) - Date.now() + 1));
      const rewards = (await api('GET', '/v1/rewards/mine', kol)).body;
      expect(rewards.entries.items[0]).toMatchObject({ id: locked.id, state: 'available' });
      expect(rewards.balances.cash).toMatchObject({ locked: 0, available: 1000 });
    } finally {
      await rt.stop();
    }
  });
});

describe('The local server before the app', () => {
  /** Sends `raw` on a fresh connection and gives back everything the server answered. */
  const rawRequest = (port: number, raw: string) =>
    new Promise<string>((ok, fail) => {
      let answer = '';
      const socket = connect(port, '127.0.0.1', () => socket.write(raw));
      socket.on('data', (d) => {
        answer += d;
      });
      socket.on('end', () => ok(answer));
      socket.on('error', fail);
    });

  it('answers a body over 64 KiB with 400 and Connection: close, and the client’s next request goes through', async () => {
    const env = { ...TEST_ENV, TABLE_NAME: `t-${randomUUID()}` };
    const rt = await startLocalRuntime({ port: 0, env, dynamoEndpoint: dynamoEndpoint(), sweepIntervalMs: 60_000 });
    try {
      const token = signJwt(
        { sub: 'big-body', roles: ['user'] },
        {
          secret: TEST_ENV.JWT_SECRET,
          issuer: TEST_ENV.JWT_ISSUER,
          audience: TEST_ENV.JWT_AUDIENCE,
          nowSeconds: Math.floor(Date.now() / 1000),
        },
      );
      for (let i = 0; i < 4; i++) {
        const big = await fetch(`${rt.url}/v1/invites`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ campaignId: 'x'.repeat(2_000_000) }),
        });
        expect([big.status, big.headers.get('connection')]).toEqual([400, 'close']);
        expect(((await big.json()) as { code: string }).code).toBe('validation_failed');
        expect((await fetch(`${rt.url}/health`)).status).toBe(200);
      }
    } finally {
      await rt.stop();
    }
  });

  it('answers headers over 16 KiB and a malformed request with problem documents', async () => {
    const env = { ...TEST_ENV, TABLE_NAME: `t-${randomUUID()}` };
    const rt = await startLocalRuntime({
      port: 0,
      env,
      dynamoEndpoint: dynamoEndpoint(),
      sweepIntervalMs: 60_000,
    });
    try {
      const port = Number(new URL(rt.url).port);
      const big = await rawRequest(port, `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
      expect(big).toMatch(/^HTTP\/1\.1 431 /);
      expect(big).toContain('Content-Type: application/problem+json');
      expect(JSON.parse(big.slice(big.indexOf('\r\n\r\n') + 4))).toMatchObject({
        status: 431,
        code: 'validation_failed',
      });
      const garbage = await rawRequest(port, 'NOT HTTP AT ALL\r\n\r\n');
      expect(garbage).toMatch(/^HTTP\/1\.1 400 /);
      expect(JSON.parse(garbage.slice(garbage.indexOf('\r\n\r\n') + 4))).toMatchObject({ code: 'validation_failed' });
      expect((await fetch(`${rt.url}/health`)).status).toBe(200);
    } finally {
      await rt.stop();
    }
  });

  it('answers what Node or the adapter would refuse bare (Host, backslash, Expect, CONNECT) with problem documents', async () => {
    const env = { ...TEST_ENV, TABLE_NAME: `t-${randomUUID()}` };
    const rt = await startLocalRuntime({ port: 0, env, dynamoEndpoint: dynamoEndpoint(), sweepIntervalMs: 60_000 });
    try {
      const port = Number(new URL(rt.url).port);
      const cases: [string, number, string][] = [
        ['GET /health HTTP/1.1\r\nConnection: close\r\n\r\n', 400, 'validation_failed'],
        ['GET /health HTTP/1.1\r\nHost: a@b\r\nConnection: close\r\n\r\n', 400, 'validation_failed'],
        ['GET /v1\\bargains HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 400, 'validation_failed'],
        [
          'POST /v1/bargains HTTP/1.1\r\nHost: x\r\nExpect: nope\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}',
          417,
          'validation_failed',
        ],
        ['CONNECT localhost:443 HTTP/1.1\r\nHost: localhost:443\r\n\r\n', 404, 'not_found'],
      ];
      for (const [raw, status, code] of cases) {
        const answer = await rawRequest(port, raw);
        expect(answer, raw).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
        expect(answer.toLowerCase(), raw).toContain('content-type: application/problem+json');
        expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)), raw).toMatchObject({ status, code });
      }
      // HTTP/1.0 may leave Host out.
      expect(await rawRequest(port, 'GET /health HTTP/1.0\r\n\r\n')).toMatch(/^HTTP\/1\.1 200 /);
    } finally {
      await rt.stop();
    }
  });

  it('survives a client that sends CONNECT and resets the connection (no uncaught socket error)', async () => {
    const uncaught: Error[] = [];
    const onUncaught = (e: Error) => uncaught.push(e);
    process.on('uncaughtException', onUncaught);
    const env = { ...TEST_ENV, TABLE_NAME: `t-${randomUUID()}` };
    const rt = await startLocalRuntime({ port: 0, env, dynamoEndpoint: dynamoEndpoint(), sweepIntervalMs: 60_000 });
    try {
      const port = Number(new URL(rt.url).port);
      for (let i = 0; i < 5; i++)
        await new Promise<void>((done) => {
          const s = connect(port, '127.0.0.1', () => {
            s.write(`CONNECT localhost:443 HTTP/1.1\r\nHost: localhost:443\r\n\r\n${'x'.repeat(100_000)}`);
            s.resetAndDestroy();
            done();
          });
          s.on('error', () => {});
        });
      await new Promise((r) => setTimeout(r, 300));
      // In npm start an uncaught exception stops the whole server.
      expect(uncaught.map((e) => `${(e as NodeJS.ErrnoException).code} ${e.message}`)).toEqual([]);
      expect((await fetch(`${rt.url}/health`)).status).toBe(200);
    } finally {
      process.off('uncaughtException', onUncaught);
      await rt.stop();
    }
  });

  it('refuses a JSON body that is not UTF-8 (400, nothing made), and logs no error for a body cut off by its client', async () => {
    // DEBUG logs every request (at debug), so the test sees when the cut-off one has been answered.
    const env = { ...TEST_ENV, TABLE_NAME: `t-${randomUUID()}`, LOG_LEVEL: 'DEBUG' };
    const rt = await startLocalRuntime({ port: 0, env, dynamoEndpoint: dynamoEndpoint(), sweepIntervalMs: 60_000 });
    const errors = vi.spyOn(rt.deps.log, 'error');
    vi.spyOn(rt.deps.log, 'info').mockImplementation(() => {});
    const debugs = vi.spyOn(rt.deps.log, 'debug').mockImplementation(() => {});
    try {
      const post = (body: Uint8Array) =>
        fetch(`${rt.url}/v1/links`, {
          method: 'POST',
          headers: { authorization: `Bearer ${kolToken()}`, 'content-type': 'application/json' },
          body,
        });
      const latin1 = await post(Buffer.from('{"targetUrl":"https://shop.example.com/p/\xe9"}', 'latin1'));
      expect([latin1.status, ((await latin1.json()) as { code: string }).code]).toEqual([400, 'validation_failed']);
      const mine = await fetch(`${rt.url}/v1/kol/links`, { headers: { authorization: `Bearer ${kolToken()}` } });
      expect(((await mine.json()) as { items: unknown[] }).items).toEqual([]);
      const utf8 = await post(Buffer.from('{"targetUrl":"https://shop.example.com/p/é"}', 'utf8'));
      expect(utf8.status).toBe(201);

      const cutOff = connect(Number(new URL(rt.url).port), '127.0.0.1');
      const body = '{"targetUrl":"https://shop.example.com/p/1"}';
      cutOff.write(
        `POST /v1/links HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${kolToken()}\r\n` +
          `Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n`,
      );
      await new Promise((r) => setTimeout(r, 300));
      cutOff.destroy();
      const answered = () =>
        debugs.mock.calls.filter(([m, a]) => m === 'request' && (a as { path?: string }).path === '/v1/links');
      await vi.waitFor(() => expect(answered()).toHaveLength(3), { timeout: 10_000 });
      expect(answered().map(([, a]) => (a as { status: number }).status)).toEqual([400, 201, 400]);
      // Short links too, which skip the API's middleware.
      expect((await fetch(`${rt.url}/s/nosuchcode`, { redirect: 'manual' })).status).toBe(404);
      expect(debugs).toHaveBeenCalledWith('redirect', { method: 'GET', path: '/s/nosuchcode', status: 404 });
      expect(errors).not.toHaveBeenCalled();
    } finally {
      await rt.stop();
    }
  });
});

describe('The local table', () => {
  const admin = new DynamoDBClient({
    endpoint: dynamoEndpoint(),
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  afterAll(() => admin.destroy());
  const describeTable = async (name: string) =>
    (await admin.send(new DescribeTableCommand({ TableName: name }))).Table!;

  it('has the shared indexes and no stream (the local bus reads the outbox index)', async () => {
    const name = `t-${randomUUID()}`;
    await ensureTable(admin, name);
    const table = await describeTable(name);
    expect(table.StreamSpecification?.StreamEnabled ?? false).toBe(false);
    expect(table.GlobalSecondaryIndexes?.map((i) => i.IndexName).sort()).toEqual(['gsi1', 'gsi2', 'gsi3', 'gsi4']);
  });

  it('turns off the stream of a table an earlier version made with one, and keeps its items', async () => {
    const name = `t-${randomUUID()}`;
    await admin.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
      }),
    );
    await admin.send(new PutItemCommand({ TableName: name, Item: { pk: { S: 'kept' }, sk: { S: 'x' } } }));
    expect((await describeTable(name)).StreamSpecification?.StreamEnabled).toBe(true);
    await ensureTable(admin, name);
    expect((await describeTable(name)).StreamSpecification?.StreamEnabled ?? false).toBe(false);
    const kept = await admin.send(new GetItemCommand({ TableName: name, Key: { pk: { S: 'kept' }, sk: { S: 'x' } } }));
    expect(kept.Item?.pk?.S).toBe('kept');
    await ensureTable(admin, name); // a second start changes nothing more
    expect((await describeTable(name)).StreamSpecification?.StreamEnabled ?? false).toBe(false);
  });
});
