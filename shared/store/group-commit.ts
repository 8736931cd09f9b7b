/** A transaction waiting to be committed, with the keys of the items it writes or checks. */
export interface Queued<T> {
  tx: T;
  size: number;
  keys: readonly string[];
  done: () => void;
  fail: (e: unknown) => void;
}

/**
 * The next group of a group commit (a MicroBatcher's `take` with no delay): transactions asked
 * for while the commits allowed out at once are out wait, then leave together as one group as
 * soon as a commit comes back. A lone transaction leaves at once, so nothing waits while the
 * database keeps up; under load, one request commits many transactions (DynamoDB Local writes a
 * 60-item transaction in about the time of a 2-item one). A group takes the waiting transactions
 * in their order but never two that share an item, nor more than `maxSize` items: one that would
 * waits for the next group, ahead of those queued after it.
 */
export function takeGroup<T>(waiting: Queued<T>[], maxSize: number): { batch: Queued<T>[]; rest: Queued<T>[] } {
  const batch: Queued<T>[] = [];
  const rest: Queued<T>[] = [];
  const keys = new Set<string>();
  let size = 0;
  for (const q of waiting) {
    const fits = batch.length === 0 || (size + q.size <= maxSize && q.keys.every((k) => !keys.has(k)));
    if (!fits) {
      rest.push(q);
      continue;
    }
    batch.push(q);
    size += q.size;
    for (const k of q.keys) keys.add(k);
  }
  return { batch, rest };
}
