/** A transaction cancelled only by conflicts or throttling (the store gave up retrying): safe to re-read and try again. */
export function isTransientCancel(e: unknown): boolean {
  const err = e as { name?: string; CancellationReasons?: { Code?: string }[] };
  return (
    err?.name === 'TransactionCanceledException' &&
    !(err.CancellationReasons ?? []).some((r) => r.Code === 'ConditionalCheckFailed')
  );
}

/** A short random pause before another attempt, growing with the attempt number (capped at 200 ms). */
export const pause = (attempt: number) =>
  new Promise((r) => setTimeout(r, Math.random() * Math.min(200, 5 * 2 ** Math.min(attempt, 6))));
