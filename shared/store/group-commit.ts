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

/** The writes deltaUpdateTx built, with their deltas: only those merge (a copy that was changed does not). */
const deltas = new WeakMap<TxItem, Delta>();
/** The puts sameItemPutTx built. */
const sameItemPuts = new WeakSet<TxItem>();

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
  if (sets.length + adds.length === 0) throw new Error('a delta sets or adds something');
  const expression = [sets.length ? `SET ${sets.join(', ')}` : '', adds.length ? `ADD ${adds.join(', ')}` : ''];
  const item: TxItem = {
    Update: {
      Key: key,
      UpdateExpression: expression.filter(Boolean).join(' '),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
    },
  };
  deltas.set(item, delta);
  return item;
}

/**
 * An unconditional put of an item that every writer of its key writes the same (a fact, such as
 * "this payee earned in this campaign"): two equal ones in a group go as one.
 */
export function sameItemPutTx(item: Record<string, unknown> & Key): TxItem {
  const tx: TxItem = { Put: { Item: item } };
  sameItemPuts.add(tx);
  return tx;
}

/** The item a write of a transaction touches, as a string. */
export function itemKey(item: TxItem): string {
  const body = (
    'Put' in item ? item.Put : 'Update' in item ? item.Update : 'Delete' in item ? item.Delete : item.ConditionCheck
  ) as {
    Item?: Record<string, unknown>;
    Key?: Record<string, unknown>;
  };
  const key = body.Item ?? body.Key ?? {};
  return `${String(key.pk)}\u0000${String(key.sk)}`;
}

/**
 * Which writes of one item a group may hold together, and merge into one: the updates of
 * deltaUpdateTx that set the same values, or the puts of sameItemPutTx of equal items. Any other
 * write holds its item alone. Undefined for those.
 */
export function mergeClass(item: TxItem): string | undefined {
  const delta = deltas.get(item);
  if (delta) {
    const set = plainJson(delta.set);
    return set === undefined ? undefined : `delta ${set}`;
  }
  if (sameItemPuts.has(item) && 'Put' in item) {
    const put = plainJson(item.Put.Item);
    return put === undefined ? undefined : `put ${put}`;
  }
  return undefined;
}

/**
 * JSON with object keys in order, so equal values give equal strings; undefined for a value JSON
 * would not tell apart (a Set, a Map, a non-finite number, a bigint): such writes never merge.
 */
function plainJson(x: unknown): string | undefined {
  let plain = true;
  const json = JSON.stringify(x, (_k, v: unknown) => {
    if (typeof v === 'number' && !Number.isFinite(v)) plain = false;
    if (
      typeof v === 'bigint' ||
      (v instanceof Object && !Array.isArray(v) && Object.getPrototypeOf(v) !== Object.prototype)
    ) {
      plain = false;
      return null;
    }
    return v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v;
  });
  return plain ? json : undefined;
}

/** The item each write of a transaction touches, and its merge class (mergeClass) when it has one. */
export type Writes = readonly { key: string; as?: string }[];

/** A transaction's writes (itemKey, mergeClass), worked out once when it is queued. */
export const writesOf = (tx: readonly TxItem[]): Writes =>
  tx.map((item) => ({ key: itemKey(item), as: mergeClass(item) }));

/**
 * The writes of a group's transactions as one request: mergeable writes of one item by different
 * members (mergeClass) become one (the deltas' additions summed, an equal put once); `at[m][i]`
 * is where member `m`'s `i`th write went, so DynamoDB's reasons for cancelling can be read member
 * by member. A member's own writes never merge with each other (alone, DynamoDB would refuse two
 * writes of one item), nor do additions whose sum is past what a JavaScript number holds exactly.
 */
export function combine(members: readonly { tx: TxItem[]; writes: Writes }[]): { items: TxItem[]; at: number[][] } {
  const items: TxItem[] = [];
  const merged = new Map<string, number>();
  const at = members.map(({ tx, writes }) => {
    const mine = new Set<number>();
    return tx.map((item, w) => {
      const { key: itemAt, as } = writes[w]!;
      const key = as === undefined ? undefined : `${itemAt}\u0000${as}`;
      const i = key === undefined ? undefined : merged.get(key);
      const into = i === undefined || mine.has(i) ? undefined : merge(items[i]!, item);
      if (i !== undefined && into) {
        items[i] = into;
        mine.add(i);
        return i;
      }
      if (key !== undefined && i === undefined) merged.set(key, items.length);
      items.push(item);
      mine.add(items.length - 1);
      return items.length - 1;
    });
  });
  return { items, at };
}

/** One write doing what `a` then `b` do (both of one mergeClass), or undefined when a sum would be inexact. */
function merge(a: TxItem, b: TxItem): TxItem | undefined {
  const da = deltas.get(a);
  const db = deltas.get(b);
  if (!da || !db || !('Update' in a)) return a; // equal puts: once
  const add = { ...da.add };
  for (const [name, n] of Object.entries(db.add)) add[name] = (add[name] ?? 0) + n;
  if (!Object.values(add).every(Number.isSafeInteger)) return undefined;
  return deltaUpdateTx(a.Update.Key as Key, { set: da.set, add });
}

/** A transaction waiting to be committed, with the items it writes or checks (writesOf). */
export interface Queued<T> {
  tx: T;
  /** A write without a merge class holds its item alone; one with a class may share it with writes of that class. */
  writes: Writes;
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
    const added = q.writes.filter((w) => w.as === undefined || !shared.has(w.key)).length;
    const fits =
      batch.length === 0 ||
      (size + added <= maxSize &&
        q.writes.every(
          (w) => !alone.has(w.key) && (w.as === undefined ? !shared.has(w.key) : (shared.get(w.key) ?? w.as) === w.as),
        ));
    if (!fits) {
      rest.push(q);
      continue;
    }
    batch.push(q);
    size += added;
    for (const w of q.writes) {
      if (w.as === undefined) alone.add(w.key);
      else shared.set(w.key, w.as);
    }
  }
  return { batch, rest };
}
