import type { Context } from 'hono';
import type { Deps } from '#shared/deps';
import type { AppEnv } from '#shared/http/context';
import { requestVia, type Via } from '#shared/http/via';
import { writePendingHistory } from '#shared/store/links';
import { within } from '#shared/within';

/** Work started after answering (local server), so tests and benchmarks can wait for it. */
const pending = new Set<Promise<unknown>>();
/** Answers held while the backlog is full, released one per work that settles, in arrival order. */
const waiting: (() => void)[] = [];
/** Pending works by whose counts they write (`o:<link owner>`), for reads that wait for them. */
const bySubject = new Map<string, Set<Promise<unknown>>>();

/**
 * Clicks being recorded after their answers, at most: beyond this a redirect waits for room (one
 * recorded click) before answering. A burst is answered at once; a hot link that outruns the
 * database for long is slowed to the rate its clicks are written, instead of queueing them
 * without bound (memory) or dropping them (counts and attribution).
 */
export const BACKGROUND_MAX = 5000;

/** True when running inside Lambda (hono/aws-lambda puts the event on `c.env`): work must finish before answering. */
export function onLambda(c: Context): boolean {
  const env = c.env as { lambdaContext?: unknown } | undefined;
  return env?.lambdaContext !== undefined;
}

/**
 * Runs `work` without holding the answer where the process outlives the request (the local
 * server); on Lambda the caller awaits it instead, since a frozen sandbox would lose it. Settles
 * at once while at most `max` such works are pending, else once another one has settled.
 */
export async function inBackground(
  work: Promise<unknown>,
  max = BACKGROUND_MAX,
  subjects: readonly string[] = [],
): Promise<void> {
  pending.add(work);
  for (const s of subjects) {
    const works = bySubject.get(s) ?? new Set();
    bySubject.set(s, works.add(work));
  }
  const settled = () => {
    pending.delete(work);
    for (const s of subjects) {
      const works = bySubject.get(s);
      works?.delete(work);
      if (works?.size === 0) bySubject.delete(s);
    }
    waiting.shift()?.();
  };
  void work.then(settled, settled);
  if (pending.size > max) await new Promise<void>((room) => waiting.push(room));
}

/**
 * Waits until the clicks of these subjects recorded in the background are written (or `maxMs`
 * has passed), so a KOL reading their stats right after a burst of clicks sees every one
 * (nothing is pending on Lambda).
 */
export async function settleClicksOf(subjects: readonly string[], maxMs?: number): Promise<void> {
  await within(
    Promise.allSettled(subjects.flatMap((s) => [...(bySubject.get(s) ?? [])])),
    maxMs ?? Number.POSITIVE_INFINITY,
  );
}

/**
 * How long a stats read waits at most for pending clicks. Long enough for the backlog bound's
 * 5,000 clicks on a loaded machine (DynamoDB Local writes a few hundred new visitors' clicks a
 * second), so a read after a burst counts every click answered before it; past that (a database
 * that stopped answering) it answers what is written so far.
 */
export const SETTLE_LIMIT_MS = 20_000;

/** Waits (at most SETTLE_LIMIT_MS) for the pending clicks on an owner's links: what their stats reads need. */
export async function settleOwnerClicks(ownerId: string): Promise<void> {
  await settleClicksOf([`o:${ownerId}`], SETTLE_LIMIT_MS);
}

/** Waits until every click recorded in the background is written. */
export async function settleClicks(): Promise<void> {
  while (pending.size > 0) await Promise.allSettled([...pending]);
}

/**
 * How the caller reached an action (requestVia), once the click history of its visitor is written
 * (writing now what is still queued): a help, join or accept sent right after the share link's
 * redirect finds that click, however many other clicks are queued before it.
 */
export async function settledVia(c: Context<AppEnv>): Promise<Via | undefined> {
  const via = requestVia(c);
  if (via?.visitorId) await writeClicksOf(c.get('deps'), [`v:${via.visitorId}`]);
  return via;
}

/**
 * Has the queued click history of these subjects written now (writePendingHistory), for a share
 * action that reads it next. A failure is logged and the action goes on (a share's conversion is
 * a statistic, not money): the clicks are still on their way through their own writes.
 */
async function writeClicksOf(deps: Pick<Deps, 'store' | 'log'>, subjects: readonly string[]): Promise<void> {
  await writePendingHistory(deps.store, subjects, 'share').catch((error: Error) =>
    deps.log.warn('queued clicks not written ahead of a read', { error }),
  );
}
