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
