/**
 * Sets `key` in a per-instance memo, dropping its oldest entry first when it holds `max` already,
 * so a long-lived process (the local server, a warm Lambda) keeps it bounded.
 */
export function setBounded<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  if (map.size >= max) map.delete(map.keys().next().value as K);
  map.set(key, value);
}
