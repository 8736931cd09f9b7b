import type { Store } from './store.ts';

/**
 * One `make(store)` per store, made on first use: per-table state (buffers, batchers, caches,
 * turns) that tests on separate tables, or two stores of one table, never share.
 */
export function perStore<T>(make: (store: Store) => T): (store: Store) => T {
  const made = new WeakMap<Store, T>();
  return (store) => {
    let t = made.get(store);
    if (t === undefined) {
      t = make(store);
      made.set(store, t);
    }
    return t;
  };
}
