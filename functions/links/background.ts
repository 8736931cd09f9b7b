import type { Context } from 'hono';

/** Work started after answering (local server), so tests and benchmarks can wait for it. */
const pending = new Set<Promise<unknown>>();

/** True when running inside Lambda (hono/aws-lambda puts the event on `c.env`): work must finish before answering. */
export function onLambda(c: Context): boolean {
  const env = c.env as { lambdaContext?: unknown } | undefined;
  return env?.lambdaContext !== undefined;
}

/**
 * Runs `work` without holding the answer where the process outlives the request (the local
 * server); on Lambda the caller awaits it instead, since a frozen sandbox would lose it.
 */
export function inBackground(work: Promise<unknown>): void {
  pending.add(work);
  void work.finally(() => pending.delete(work));
}

/** Waits until every click recorded in the background is written. */
export async function settleClicks(): Promise<void> {
  while (pending.size > 0) await Promise.allSettled([...pending]);
}
