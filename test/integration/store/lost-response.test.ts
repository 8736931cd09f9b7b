import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { Store } from '#shared/store/store';
import { createHarness } from '../../support/harness.ts';

describe('Store against DynamoDB Local', () => {
  it('does not duplicate the effect when the answer to a committed transaction is lost', async () => {
    const h = await createHarness();
    const endpoint = h.deps.config.DYNAMODB_ENDPOINT!;
    const raw = new DynamoDBClient({
      endpoint,
      region: 'local',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts: 1,
    });
    let dropped = 0;
    // The request reaches DynamoDB and commits; then the answer is "lost" on the way back.
    raw.middlewareStack.add(
      (next) => async (args) => {
        const out = await next(args);
        if (dropped === 0 && (args.input as { TransactItems?: unknown }).TransactItems) {
          dropped++;
          throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError', $metadata: {} });
        }
        return out;
      },
      { step: 'deserialize', name: 'loseFirstAnswer' },
    );
    const store = new Store(DynamoDBDocumentClient.from(raw), h.deps.config.TABLE_NAME);
    await store.transact([
      { Put: { Item: { pk: 'ONCE#1', sk: 'X', entity: 'test' }, ConditionExpression: 'attribute_not_exists(pk)' } },
      {
        Update: {
          Key: { pk: 'COUNTER#1', sk: 'X' },
          UpdateExpression: 'ADD n :one',
          ExpressionAttributeValues: { ':one': 1 },
        },
      },
    ]);
    expect(dropped).toBe(1);
    const counter = await h.deps.store.get<{ n: number }>({ pk: 'COUNTER#1', sk: 'X' }, true);
    expect(counter?.n).toBe(1);
  });

  it('holds a conditional counter under 100 concurrent increments', async () => {
    const h = await createHarness();
    const key = { pk: 'SEATS#1', sk: 'X' };
    await h.deps.store.put({ ...key, taken: 0 });
    const results = await Promise.allSettled(
      Array.from({ length: 100 }, (_, i) =>
        h.deps.store.transact([
          {
            Update: {
              Key: key,
              UpdateExpression: 'SET taken = taken + :one',
              ConditionExpression: 'taken < :max',
              ExpressionAttributeValues: { ':one': 1, ':max': 10 },
            },
          },
          { Put: { Item: { pk: `SEAT#${i}`, sk: 'X' }, ConditionExpression: 'attribute_not_exists(pk)' } },
        ]),
      ),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(10);
    expect((await h.deps.store.get<{ taken: number }>(key, true))?.taken).toBe(10);
  });
});

describe('Store queries against DynamoDB Local', () => {
  it('answers a cursor only when more items follow, on the table and on an index, filtered or not', async () => {
    const h = await createHarness();
    const store = h.deps.store;
    for (let i = 0; i < 5; i++)
      await store.put({ pk: 'PAGE#1', sk: `i${i}`, gsi1pk: 'PAGEIDX#1', gsi1sk: `i${i}`, entity: 'test', odd: i % 2 });
    const walk = async (q: Omit<Parameters<typeof store.query>[0], 'cursor'>) => {
      const pages: { items: string[]; next: boolean }[] = [];
      let cursor: string | null = null;
      do {
        const page: Awaited<ReturnType<typeof store.query<{ sk: string }>>> = await store.query<{ sk: string }>({
          ...q,
          cursor,
        });
        pages.push({ items: page.items.map((x) => x.sk), next: page.nextCursor !== null });
        cursor = page.nextCursor;
      } while (cursor && pages.length < 10);
      return pages;
    };
    for (const index of [undefined, 'gsi1' as const]) {
      const pk = index ? 'PAGEIDX#1' : 'PAGE#1';
      expect(await walk({ pk, index, limit: 5 })).toEqual([{ items: ['i0', 'i1', 'i2', 'i3', 'i4'], next: false }]);
      expect(await walk({ pk, index, limit: 6 })).toEqual([{ items: ['i0', 'i1', 'i2', 'i3', 'i4'], next: false }]);
      expect(await walk({ pk, index, limit: 2, forward: false })).toEqual([
        { items: ['i4', 'i3'], next: true },
        { items: ['i2', 'i1'], next: true },
        { items: ['i0'], next: false },
      ]);
      // A filter drops items after the limit counted them: pages may be short, and every item still comes once.
      const odd = await walk({ pk, index, limit: 2, filter: { expression: 'odd = :one', values: { ':one': 1 } } });
      expect(odd.flatMap((p) => p.items)).toEqual(['i1', 'i3']);
      expect(odd.at(-1)!.next).toBe(false);
    }
  });
});
