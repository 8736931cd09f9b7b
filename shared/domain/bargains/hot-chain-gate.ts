import type { Store } from '../../store/store.ts';

/** Helps of one chain in flight at once in one process; the rest wait their turn in order. */
export const HELPS_IN_FLIGHT_PER_CHAIN = 4;

type Gate = { active: number; waiting: (() => void)[] };
const gates = new WeakMap<Store, Map<string, Gate>>();

/**
 * Admission control for a viral chain within one process (the local server, a busy container):
 * at most a few helps of the same chain race in DynamoDB at once, instead of hundreds that
 * would almost all lose the optimistic `helperCount` condition and retry. Correctness never
 * depends on it (the transaction's conditions decide); it only stops a crowd from wasting
 * transactions. On Lambda, one request per instance, it never waits.
 */
export async function withChainTurn<T>(store: Store, chainId: string, run: () => Promise<T>): Promise<T> {
  let byChain = gates.get(store);
  if (!byChain) {
    byChain = new Map();
    gates.set(store, byChain);
  }
  let gate = byChain.get(chainId);
  if (!gate) {
    gate = { active: 0, waiting: [] };
    byChain.set(chainId, gate);
  }
  if (gate.active < HELPS_IN_FLIGHT_PER_CHAIN) gate.active++;
  else await new Promise<void>((resolve) => gate.waiting.push(resolve));
  try {
    return await run();
  } finally {
    const next = gate.waiting.shift();
    if (next) next();
    else if (--gate.active === 0) byChain.delete(chainId);
  }
}
