import { perStore } from '../store/per-store.ts';
import type { Store } from '../store/store.ts';

type Gate = { active: number; waiting: (() => void)[] };
const gatesOf = perStore(() => new Map<string, Gate>());

/**
 * Admission control for one hot item within one process (the local server, a busy container):
 * at most `inFlight` operations on `key` race in DynamoDB at once, the rest wait their turn in
 * order, instead of a crowd that would almost all lose the item's optimistic condition and
 * retry. Correctness never depends on it (the transaction's conditions decide); it only stops a
 * crowd from wasting transactions. On Lambda, one request per instance, it never waits.
 */
export async function withTurn<T>(store: Store, key: string, inFlight: number, run: () => Promise<T>): Promise<T> {
  const byKey = gatesOf(store);
  let gate = byKey.get(key);
  if (!gate) {
    gate = { active: 0, waiting: [] };
    byKey.set(key, gate);
  }
  if (gate.active < inFlight) gate.active++;
  else await new Promise<void>((resolve) => gate.waiting.push(resolve));
  try {
    return await run();
  } finally {
    const next = gate.waiting.shift();
    if (next) next();
    else if (--gate.active === 0) byKey.delete(key);
  }
}
