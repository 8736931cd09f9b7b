import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';

/** A process as the pid file names it: its pid, and when it started (so a reused pid is told apart). */
interface Proc {
  pid: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks after boot); absent where there is no /proc. */
  start?: string;
}

/** What the pid file of a data directory holds: the Node process that owns it, and its DynamoDB Local. */
interface Owner {
  node?: Proc;
  java?: Proc;
}

/** Another Fission server, still running, keeps its DynamoDB Local on this data directory. */
export class DataDirInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(`${dataDir} is in use by the Fission server with pid ${pid}: stop it, or set DATA_DIR to another directory.`);
  }
}

/** A data directory this process owns until `release`. */
export interface DataDirClaim {
  dir: string;
  /** Notes the DynamoDB Local started on it, so a later start can kill it if this process dies first. */
  recordJava(pid: number): void;
  /** Gives the directory up (only when the pid file is still this process's). */
  release(): void;
}

/**
 * Makes this process the owner of `dataDir`: its pid file, `dynamodb.pid`, is created only where
 * there is none, so of two starts at once only one gets it. A pid file left by a process that is gone (a crash,
 * SIGKILL) is replaced, and the DynamoDB Local it names is killed first; one whose owner still runs
 * throws DataDirInUseError and is left as it is, with its server and Java. The file is removed when
 * this process exits.
 */
export async function claimDataDir(dataDir: string): Promise<DataDirClaim> {
  const dir = resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'dynamodb.pid');
  const node = procOf(process.pid);
  for (let attempt = 1; !createOnly(file, { node }); attempt++) {
    if (attempt === 5) throw new Error(`Could not take ${file} over: remove it if no Fission server runs on ${dir}.`);
    const held = readText(file);
    if (held === undefined) continue; // its owner has just given it up
    const owner = parseOwner(held);
    const java = owner.java && isRunning(owner.java, (args) => runsDynamoLocalOn(args, dir), false);
    // An earlier version wrote only its Java's pid: the Java's parent, while still Node, owns it.
    const holder = owner.node ?? (java ? { pid: parentOf(owner.java!.pid) } : undefined);
    if (holder && isRunning(holder, isNode, true)) throw new DataDirInUseError(dir, holder.pid);
    if (java) await killAndWait(owner.java!.pid);
    // Only the stale file read above: never one that another start has just written.
    if (readText(file) === held) rmSync(file, { force: true });
  }
  const release = () => {
    if (parseOwner(readText(file) ?? '').node?.pid === process.pid) rmSync(file, { force: true });
    process.off('exit', release);
  };
  process.once('exit', release);
  return {
    dir,
    recordJava(pid) {
      const tmp = `${file}.${process.pid}`;
      writeFileSync(tmp, JSON.stringify({ node, java: procOf(pid) } satisfies Owner));
      renameSync(tmp, file);
    },
    release,
  };
}

/** Writes `owner` to `file` only if there is none; the file appears whole, never half-written. */
function createOnly(file: string, owner: Owner): boolean {
  const tmp = `${file}.${process.pid}`;
  writeFileSync(tmp, JSON.stringify(owner));
  try {
    linkSync(tmp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    rmSync(tmp, { force: true });
  }
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** The pid file's content; a bare number is the Java pid an earlier version wrote. */
function parseOwner(text: string): Owner {
  if (/^\d+$/.test(text.trim())) return { java: { pid: Number(text) } };
  try {
    return JSON.parse(text) as Owner;
  } catch {
    return {};
  }
}

/** The fields of /proc/<pid>/stat after the command name (field 3 first), or undefined. */
function stat(pid: number): string[] | undefined {
  const text = readText(`/proc/${pid}/stat`);
  return text?.slice(text.lastIndexOf(')') + 2).split(' ');
}

function procOf(pid: number): Proc {
  const start = stat(pid)?.[19];
  return start ? { pid, start } : { pid };
}

function parentOf(pid: number): number {
  const ppid = Number(stat(pid)?.[1]);
  return ppid > 1 ? ppid : 0;
}

/**
 * Whether `proc` still runs: the same pid, started at the same time, with a command line that
 * passes `is`. Without /proc nothing but the pid can be checked: answers `unchecked` for a live one.
 */
function isRunning(proc: Proc, is: (args: string[]) => boolean, unchecked: boolean): boolean {
  if (!proc.pid || proc.pid === process.pid) return false;
  const fields = stat(proc.pid);
  if (!fields) {
    if (readText('/proc/self/stat') !== undefined) return false; // there is /proc: the pid is gone
    try {
      process.kill(proc.pid, 0);
      return unchecked;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EPERM' && unchecked;
    }
  }
  if (fields[0] === 'Z' || (proc.start && fields[19] !== proc.start)) return false;
  return is(readText(`/proc/${proc.pid}/cmdline`)?.split('\0') ?? []);
}

function isNode(args: string[]): boolean {
  return /^node/.test(basename(args[0] ?? ''));
}

function runsDynamoLocalOn(args: string[], dir: string): boolean {
  const at = args.indexOf('-dbPath');
  return args.some((a) => a.includes('DynamoDBLocal')) && at > 0 && args[at + 1] === dir;
}

/** SIGKILLs `pid` and waits (up to 5 s) until it is gone, so it no longer holds the data files. */
async function killAndWait(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  for (let i = 0; i < 250; i++) {
    const state = stat(pid)?.[0];
    if (state === undefined || state === 'Z') return;
    await new Promise((r) => setTimeout(r, 20));
  }
}
