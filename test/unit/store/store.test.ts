import { DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { Store, TransactionConditionError } from '#shared/store/store';

const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'local' }));
const ddb = mockClient(doc);
const store = new Store(doc, 'table');
const put = { Put: { Item: { pk: 'a', sk: 'a' }, ConditionExpression: 'attribute_not_exists(pk)' } };
const cancelled = (...codes: string[]) =>
  new TransactionCanceledException({
    message: 'cancelled',
    $metadata: {},
    CancellationReasons: codes.map((Code) => ({ Code })),
  });
const throttled = () => Object.assign(new Error('slow down'), { name: 'ThrottlingException', $metadata: {} });

describe('Class: Store', () => {
  afterEach(() => ddb.reset());

  describe('Method: transact', () => {
    it('retries a transaction conflict and succeeds', async () => {
      ddb
        .on(TransactWriteCommand)
        .rejectsOnce(cancelled('None', 'TransactionConflict'))
        .rejectsOnce(cancelled('TransactionConflict', 'None'))
        .resolves({});
      await store.transact([put, put]);
      expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(3);
    });

    it('retries throttling and keeps the same ClientRequestToken, so a resend after a lost answer is a no-op', async () => {
      ddb.on(TransactWriteCommand).rejectsOnce(throttled()).rejectsOnce(throttled()).resolves({});
      await store.transact([put]);
      const tokens = ddb.commandCalls(TransactWriteCommand).map((c) => c.args[0].input.ClientRequestToken);
      expect(tokens).toHaveLength(3);
      expect(new Set(tokens).size).toBe(1);
    });

    it('never retries a failed condition and throws that item’s domain error with the old item', async () => {
      ddb.on(TransactWriteCommand).rejects(
        new TransactionCanceledException({
          message: 'cancelled',
          $metadata: {},
          CancellationReasons: [
            { Code: 'None' },
            { Code: 'ConditionalCheckFailed', Item: { pk: { S: 'b' }, n: { N: '3' } } },
          ],
        }),
      );
      class Full extends Error {}
      let seen: unknown;
      await expect(
        store.transact([
          put,
          {
            ...put,
            onFail: (old) => {
              seen = old;
              return new Full();
            },
          },
        ]),
      ).rejects.toBeInstanceOf(Full);
      expect(seen).toEqual({ pk: 'b', n: 3 });
      expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(1);
    });

    it('throws a TransactionConditionError naming the item when no onFail is given', async () => {
      ddb.on(TransactWriteCommand).rejects(cancelled('None', 'None', 'ConditionalCheckFailed'));
      const err = await store.transact([put, put, put]).catch((e) => e);
      expect(err).toBeInstanceOf(TransactionConditionError);
      expect(err.index).toBe(2);
    });

    it('gives up on a conflict that never clears, with the original error', async () => {
      ddb.on(TransactWriteCommand).rejects(cancelled('TransactionConflict'));
      await expect(store.transact([put])).rejects.toBeInstanceOf(TransactionCanceledException);
      expect(ddb.commandCalls(TransactWriteCommand).length).toBeGreaterThan(5);
    });

    it('does not retry an unknown error', async () => {
      ddb.on(TransactWriteCommand).rejects(Object.assign(new Error('bad'), { name: 'ValidationException' }));
      await expect(store.transact([put])).rejects.toThrow('bad');
      expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(1);
    });
  });

  describe('Method: put', () => {
    it('turns a failed condition into onFail(old) with a plain old item', async () => {
      ddb.on(PutCommand).rejects(
        Object.assign(new Error('failed'), {
          name: 'ConditionalCheckFailedException',
          $metadata: {},
          Item: { pk: { S: 'x' }, status: { S: 'done' } },
        }),
      );
      class Taken extends Error {}
      let seen: unknown;
      await expect(
        store.put(
          { pk: 'x', sk: 'x' },
          {
            condition: 'attribute_not_exists(pk)',
            onFail: (old) => {
              seen = old;
              return new Taken();
            },
          },
        ),
      ).rejects.toBeInstanceOf(Taken);
      expect(seen).toEqual({ pk: 'x', status: 'done' });
    });
  });

  describe('Method: query', () => {
    it('refuses a cursor for another partition with 400', async () => {
      const cursor = Buffer.from(JSON.stringify({ pk: 'other', sk: 'x' })).toString('base64url');
      await expect(store.query({ pk: 'mine', cursor })).rejects.toMatchObject({ code: 'validation_failed' });
      await expect(store.query({ pk: 'mine', cursor: 'not-base64-json' })).rejects.toMatchObject({
        code: 'validation_failed',
      });
    });
  });
});
