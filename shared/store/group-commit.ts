import type { Key, TxItem } from './store.ts';

/**
 * What an unconditional update that only sets constants and adds numbers does to its item. Two
 * such updates of one item that set the same values commute, and together do what one update
 * does that sets those values and adds their sums: a group commit sends them as that one write.
 */
export interface Delta {
  set: Record<string, unknown>;
  add: Record<string, number>;
}

/** The transaction write that applies `delta` to the item at `key` (creating it when absent). */
export function deltaUpdateTx(key: Key, delta: Delta): TxItem {
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const sets = Object.entries(delta.set).map(([name, value], i) => {
    names[`#s${i}`] = name;
    values[`:s${i}`] = value;
    return `#s${i} = :s${i}`;
  });
  const adds = Object.entries(delta.add).map(([name, value], i) => {
    names[`#a${i}`] = name;
    values[`:a${i}`] = value;
    return `#a${i} :a${i}`;
  });
  const expression = [sets.length ? `SET ${sets.join(', ')}` : '', adds.length ? `ADD ${adds.join(', ')}` : ''];
  return {
    Update: {
      Key: key,
      UpdateExpression: expression.filter(Boolean).join(' '),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    },
    delta,
  };
}

/** The item a write of a transaction touches, as a string. */
export function itemKey(item: TxItem): string {
  const body = Object.values(item).find((v) => typeof v === 'object') as { Item?: Item; Key?: Item };
  const key = body.Item ?? body.Key ?? {};
  return `${String(key.pk)}\u0000${String(key.sk)}`;
}
type Item = Record<string, unknown>;

/**
 * Which writes of one item a group may hold together, and merge into one: unconditional updates
 * that only add (`delta`) and set the same values, or unconditional puts of the same item. Any
 * other write (a condition, a removal, a delete) holds its item alone. Undefined for those.
 */
export function mergeClass(item: TxItem): string | undefined {
  if ('Update' in item && item.delta && !item.Update.ConditionExpression) return `delta ${canonical(item.delta.set)}`;
  if ('Put' in item && !item.Put.ConditionExpression) return `put ${canonical(item.Put.Item)}`;
  return undefined;
}

/** JSON with object keys in order, so equal values give equal strings. */
function canonical(x: unknown): string {
  return JSON.stringify(x, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/**
 * The writes of a group's transactions as one request: mergeable writes of one item (mergeClass)
 * become one (the deltas' additions summed, an equal put once); `at[m][i]` is where member `m`'s
 * `i`th write went, so DynamoDB's reasons for cancelling can be read member by member.
 */
export function combine(txs: readonly TxItem[][]): { items: TxItem[]; at: number[][] } {
  const items: TxItem[] = [];
  const merged = new Map<string, number>();
  const at = txs.map((tx) =>
    tx.map((item) => {
      const cls = mergeClass(item);
      const key = cls === undefined ? undefined : `${itemKey(item)}\u0000${cls}`;
      const i = key === undefined ? undefined : merged.get(key);
      if (i === undefined) {
        if (key !== undefined) merged.set(key, items.length);
        items.push(item);
        return items.length - 1;
      }
      const into = items[i]!;
      if ('Update' in into && into.delta && 'Update' in item && item.delta) {
        const add = { ...into.delta.add };
        for (const [name, n] of Object.entries(item.delta.add)) add[name] = (add[name] ?? 0) + n;
        items[i] = deltaUpdateTx(into.Update.Key as Key, { set: into.delta.set, add });
      }
      return i;
    }),
  );
  return { items, at };
}

/** A transaction waiting to be committed, with the items it writes or checks. */
export interface Queued<T> {
  tx: T;
  /** Items it holds alone. */
  keys: readonly string[];
  /** Items it may share with another member writing them the same way (`as`, see mergeClass). */
  shares: readonly { key: string; as: string }[];
  done: () => void;
  fail: (e: unknown) => void;
}

/**
 * The next group of a group commit (a MicroBatcher's `take` with no delay): transactions asked
 * for while the commits allowed out at once are out wait, then leave together as one group as
 * soon as a commit comes back. A lone transaction leaves at once, so nothing waits while the
 * database keeps up; under load, one request commits many transactions (DynamoDB Local writes a
 * 60-item transaction in about the time of a 2-item one). A group takes the waiting transactions
 * in their order but never two that write one item unless both writes merge (mergeClass: so a
 * hot balance's additions share a request), nor more than `maxSize` writes once merged: one
 * that would waits for the next group, ahead of those queued after it.
 */
export function takeGroup<T>(waiting: Queued<T>[], maxSize: number): { batch: Queued<T>[]; rest: Queued<T>[] } {
  const batch: Queued<T>[] = [];
  const rest: Queued<T>[] = [];
  const alone = new Set<string>();
  const shared = new Map<string, string>();
  let size = 0;
  for (const q of waiting) {
    const added = q.keys.length + q.shares.filter((s) => !shared.has(s.key)).length;
    const fits =
      batch.length === 0 ||
      (size + added <= maxSize &&
        q.keys.every((k) => !alone.has(k) && !shared.has(k)) &&
        q.shares.every((s) => !alone.has(s.key) && (shared.get(s.key) ?? s.as) === s.as));
    if (!fits) {
      rest.push(q);
      continue;
    }
    batch.push(q);
    size += added;
    for (const k of q.keys) alone.add(k);
    for (const s of q.shares) shared.set(s.key, s.as);
  }
  return { batch, rest };
}
