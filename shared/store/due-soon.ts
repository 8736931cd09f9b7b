/**
 * Who wants to hear of items put in the due index (the local runtime's sweeper, so it visits them
 * the moment they fall due instead of at its next round). Called where due items are built
 * (`dueIndex`); a write that then fails only costs the listener one sweep for nothing.
 */
const listeners = new Set<(dueAtMs: number) => void>();

/** Calls `listener` with the due time of every due item built from now on; returns the function that stops it. */
export function onDueItem(listener: (dueAtMs: number) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** Tells the listeners an item falls due at `dueAtIso`. */
export function noteDueItem(dueAtIso: string): void {
  if (listeners.size === 0) return;
  const ms = Date.parse(dueAtIso);
  for (const listener of listeners) listener(ms);
}
