import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  combine,
  deltaUpdateTx,
  itemKey,
  type Queued,
  sameItemPutTx,
  takeGroup,
  writesOf,
} from '#shared/store/group-commit';
import type { TxItem } from '#shared/store/store';

type Row = Record<string, unknown>;
type State = Map<string, Row>;

/** What one write does to the table, as DynamoDB applies it (conditions hold: a group never shares their items). */
function apply(state: State, item: TxItem): void {
  const key = itemKey(item);
  if ('Put' in item) {
    state.set(key, { ...item.Put.Item });
    return;
  }
  if (!('Update' in item)) return;
  const u = item.Update;
  const names = u.ExpressionAttributeNames ?? {};
  const values = u.ExpressionAttributeValues ?? {};
  const row = { ...(state.get(key) ?? {}) };
  const [, sets = '', adds = ''] = /^(?:SET (.*?))?(?: ?ADD (.*))?$/.exec(u.UpdateExpression ?? '') ?? [];
  for (const part of sets.split(', ').filter(Boolean)) {
    const [name, value] = part.split(' = ') as [string, string];
    row[names[name] ?? name] = values[value];
  }
  for (const part of adds.split(', ').filter(Boolean)) {
    const [name, value] = part.split(' ') as [string, string];
    const attr = names[name] ?? name;
    row[attr] = Number(row[attr] ?? 0) + Number(values[value]);
  }
  state.set(key, row);
}

const KEYS = ['k0', 'k1', 'k2', 'k3'];

/** One write of a generated transaction: kinds that merge and kinds that hold their item alone. */
const write = (pk: string) =>
  fc.oneof(
    fc
      .record({ variant: fc.constantFrom('a', 'b'), amount: fc.integer({ min: -500, max: 500 }) })
      .map(({ variant, amount }) =>
        deltaUpdateTx({ pk, sk: 'x' }, { set: { entity: 'balance', variant }, add: { amount, version: 1 } }),
      ),
    fc.constantFrom(1, 2).map((v) => sameItemPutTx({ pk, sk: 'x', fact: v })),
    fc.integer({ min: 0, max: 9 }).map((v): TxItem => ({ Put: { Item: { pk, sk: 'x', plain: v } } })),
    fc.integer({ min: 1, max: 9 }).map(
      (v): TxItem => ({
        Update: {
          Key: { pk, sk: 'x' },
          UpdateExpression: 'ADD guarded :v',
          ConditionExpression: 'attribute_exists(pk) OR :v > 0',
          ExpressionAttributeValues: { ':v': v },
        },
      }),
    ),
  );

/** A transaction: writes of distinct items (as DynamoDB requires), plus one item of its own. */
const transaction = (n: number) =>
  fc
    .subarray(KEYS, { minLength: 0, maxLength: 3 })
    .chain((keys) => fc.tuple(...keys.map(write)))
    .map((writes): TxItem[] => [
      { Put: { Item: { pk: `own-${n}`, sk: 'x' }, ConditionExpression: 'attribute_not_exists(pk)' } },
      ...writes,
    ]);

const queued = (tx: TxItem[]): Queued<TxItem[]> => ({ tx, writes: writesOf(tx), done: () => {}, fail: () => {} });

describe('Group commit: forming and merging a group (property)', () => {
  it('sends one write per item, and the request does exactly what its transactions do one after another', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => transaction(i)))),
        fc.integer({ min: 4, max: 100 }),
        (txs, maxSize) => {
          let waiting = txs.map(queued);
          while (waiting.length > 0) {
            const { batch, rest } = takeGroup(waiting, maxSize);
            expect(batch.length).toBeGreaterThan(0);
            expect(batch.length + rest.length).toBe(waiting.length);
            waiting = rest;

            const { items, at } = combine(batch);
            // Within the size bound, unless a lone transaction is larger by itself.
            if (batch.length > 1) expect(items.length).toBeLessThanOrEqual(maxSize);
            // Never two writes of one item in the request (its transactions write distinct items each).
            const keys = items.map(itemKey);
            expect(new Set(keys).size).toBe(keys.length);
            // Each member's writes map to a request write of the same item.
            for (const [m, member] of batch.entries())
              for (const [i, item] of member.tx.entries()) expect(itemKey(items[at[m]![i]!]!)).toBe(itemKey(item));

            const sequential: State = new Map();
            for (const m of batch) for (const item of m.tx) apply(sequential, item);
            const together: State = new Map();
            for (const item of items) apply(together, item);
            expect(Object.fromEntries(together)).toEqual(Object.fromEntries(sequential));
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
