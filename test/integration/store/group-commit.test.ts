import { describe, expect, it } from 'vitest';
import { randomCode } from '#shared/ids';
import { deltaUpdateTx, sameItemPutTx } from '#shared/store/group-commit';
import { createHarness } from '../../support/harness.ts';

class Lost extends Error {
  constructor(readonly holder: unknown) {
    super('claim taken');
  }
}

describe('Store group commit against DynamoDB Local', () => {
  it('commits each of 600 concurrent transactions whole or not at all, as it would alone', async () => {
    const h = await createHarness();
    const { store } = h.deps;
    const run = randomCode(8);
    const claims = 150; // claim items, each wanted by four transactions: one of the four wins it
    const counters = 7; // counters shared by many transactions: never two writes of one in a request
    const requestsBefore = store.stats.requests;

    const outcomes = await Promise.all(
      Array.from({ length: claims * 4 }, async (_, i) => {
        const claim = i % claims;
        try {
          await store.transact([
            {
              Put: {
                Item: { pk: `GC#${run}#claim#${claim}`, sk: 'X', entity: 'test', by: i },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
              onFail: (old) => new Lost(old?.by),
            },
            { Put: { Item: { pk: `GC#${run}#mark#${i}`, sk: 'X', entity: 'test', claim } } },
            {
              Update: {
                Key: { pk: `GC#${run}#counter#${i % counters}`, sk: 'X' },
                UpdateExpression: 'ADD n :one',
                ExpressionAttributeValues: { ':one': 1 },
              },
            },
          ]);
          return 'won';
        } catch (e) {
          // The loser is told who holds the claim: a transaction of the same claim.
          if (e instanceof Lost && Number(e.holder) % claims === claim) return 'lost';
          throw e;
        }
      }),
    );
    const requests = store.stats.requests - requestsBefore;

    // Exactly one winner per claim, and the item names it.
    const winners = outcomes.flatMap((o, i) => (o === 'won' ? [i] : []));
    expect(winners).toHaveLength(claims);
    const claimed = await store.batchGet(
      Array.from({ length: claims }, (_, c) => ({ pk: `GC#${run}#claim#${c}`, sk: 'X' })),
    );
    expect(claimed.map((c) => Number(c.by)).sort((a, b) => a - b)).toEqual(winners);
    // A loser wrote nothing: its mark and its count are absent, the winners' are all there.
    const marks = await store.batchGet(
      Array.from({ length: claims * 4 }, (_, i) => ({ pk: `GC#${run}#mark#${i}`, sk: 'X' })),
    );
    expect(marks.map((m) => m.pk).sort()).toEqual(winners.map((i) => `GC#${run}#mark#${i}`).sort());
    const counts = await store.batchGet(
      Array.from({ length: counters }, (_, k) => ({ pk: `GC#${run}#counter#${k}`, sk: 'X' })),
    );
    expect(counts.reduce((n, c) => n + Number(c.n), 0)).toBe(claims);
    for (const c of counts) {
      const k = Number(String(c.pk).split('#').at(-1));
      expect(Number(c.n)).toBe(winners.filter((i) => i % counters === k).length);
    }
    // They went out together: far fewer requests than transactions.
    expect(requests).toBeLessThan(claims * 2);
  });

  it('merges concurrent additions to one balance, each transaction still whole or not at all', async () => {
    const h = await createHarness();
    const { store } = h.deps;
    const run = randomCode(8);
    const claims = 150; // each wanted by four transactions, one of which wins it
    const balances = 3; // hot items every transaction adds to: their additions merge
    const requestsBefore = store.stats.requests;

    const outcomes = await Promise.all(
      Array.from({ length: claims * 4 }, async (_, i) => {
        const b = i % balances;
        try {
          await store.transact([
            {
              Put: {
                Item: { pk: `GCM#${run}#claim#${i % claims}`, sk: 'X', entity: 'test', by: i },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
              onFail: () => new Lost(undefined),
            },
            deltaUpdateTx(
              { pk: `GCM#${run}#balance#${b}`, sk: 'X' },
              { set: { entity: 'test' }, add: { amount: i + 1, version: 1 } },
            ),
            sameItemPutTx({ pk: `GCM#${run}#seen#${b}`, sk: 'X', entity: 'test', balance: b }),
          ]);
          return 'won';
        } catch (e) {
          if (e instanceof Lost) return 'lost';
          throw e;
        }
      }),
    );
    const requests = store.stats.requests - requestsBefore;

    const winners = outcomes.flatMap((o, i) => (o === 'won' ? [i] : []));
    expect(winners).toHaveLength(claims);
    const claimed = await store.batchGet(
      Array.from({ length: claims }, (_, c) => ({ pk: `GCM#${run}#claim#${c}`, sk: 'X' })),
    );
    expect(claimed.map((c) => Number(c.by)).sort((a, b) => a - b)).toEqual(winners);
    // Each balance holds exactly its winners' additions: none lost, none from a loser, none twice.
    const read = await store.batchGet(
      Array.from({ length: balances }, (_, b) => ({ pk: `GCM#${run}#balance#${b}`, sk: 'X' })),
    );
    for (const item of read) {
      const b = Number(String(item.pk).split('#').at(-1));
      const mine = winners.filter((i) => i % balances === b);
      expect(Number(item.amount)).toBe(mine.reduce((sum, i) => sum + i + 1, 0));
      expect(Number(item.version)).toBe(mine.length);
    }
    const seen = await store.batchGet(
      Array.from({ length: balances }, (_, b) => ({ pk: `GCM#${run}#seen#${b}`, sk: 'X' })),
    );
    expect(seen.map((s) => Number(s.balance)).sort()).toEqual([0, 1, 2]);
    // Transactions on the same balances went out together: fewer requests than claims.
    expect(requests).toBeLessThan(claims);
  });
});
