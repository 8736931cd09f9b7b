import { DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, TransactWriteCommand, type TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { deltaUpdateTx, sameItemPutTx } from '#shared/store/group-commit';
import { Store, type TxItem } from '#shared/store/store';
import { deferred } from '../../support/deferred.ts';

const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'local' }));
const ddb = mockClient(doc);

const put = (pk: string, onFail?: () => Error): TxItem => ({
  Put: { Item: { pk, sk: 'x' }, ConditionExpression: 'attribute_not_exists(pk)' },
  ...(onFail ? { onFail } : {}),
});
const add = (pk: string): TxItem => ({
  Update: { Key: { pk, sk: 'x' }, UpdateExpression: 'ADD n :one', ExpressionAttributeValues: { ':one': 1 } },
});
/** An addition to a balance-like item that a group commit may merge with another (deltaUpdateTx). */
const credit = (pk: string, amount: number, set: Record<string, unknown> = { entity: 'balance' }): TxItem =>
  deltaUpdateTx({ pk, sk: 'x' }, { set, add: { amount, version: 1 } });
const cancelled = (...codes: string[]) =>
  new TransactionCanceledException({
    message: 'cancelled',
    $metadata: {},
    CancellationReasons: codes.map((Code) => ({ Code })),
  });

/** The item keys of each TransactWriteItems request sent, in order. */
function requests(): string[][] {
  return ddb.commandCalls(TransactWriteCommand).map((c) =>
    (c.args[0].input as TransactWriteCommandInput).TransactItems!.map((op) => {
      const body = (op.Put ?? op.Update ?? op.Delete ?? op.ConditionCheck)!;
      const key = ('Item' in body ? body.Item : body.Key) as { pk: string };
      return key.pk;
    }),
  );
}

/**
 * A store whose first four transactions (the commits allowed out at once) are held until `release`,
 * so what is asked for meanwhile queues; `answers` then answer the requests after them, in order
 * (an Error is thrown), and any further request succeeds.
 */
function heldStore(answers: (Error | undefined)[] = []) {
  const gate = deferred();
  let n = 0;
  ddb.on(TransactWriteCommand).callsFake(async () => {
    const i = n++;
    if (i < 4) await gate.promise;
    const answer = answers[i - 4];
    if (answer) throw answer;
    return {};
  });
  const store = new Store(doc, 'table');
  const held = ['held-1', 'held-2', 'held-3', 'held-4'].map((pk) => store.transact([put(pk)]));
  const release = async () => {
    gate.resolve();
    await Promise.all(held);
  };
  return { store, release };
}

/** What the writes on item `pk` of request `i` (counting from the first after the held four) would add and set. */
function writesOf(i: number, pk: string) {
  const ops = (ddb.commandCalls(TransactWriteCommand)[4 + i]!.args[0].input as TransactWriteCommandInput)
    .TransactItems!;
  return ops
    .filter((op) => ((op.Update?.Key ?? op.Put?.Item ?? {}) as { pk?: string }).pk === pk)
    .map((op) => {
      if (!op.Update) return { put: op.Put!.Item };
      const { UpdateExpression, ExpressionAttributeNames: names, ExpressionAttributeValues: values } = op.Update;
      const pairs = (clause: string) =>
        Object.fromEntries(
          [...(UpdateExpression ?? '').matchAll(new RegExp(`(#${clause}\\d+) =? ?(:${clause}\\d+)`, 'g'))].map((m) => [
            names![m[1]!],
            values![m[2]!],
          ]),
        );
      return { set: pairs('s'), add: pairs('a') };
    });
}

const settle = (p: Promise<void>) =>
  p.then(
    () => 'ok',
    (e: Error) => e.constructor.name,
  );

describe('Class: Store (group commit)', () => {
  afterEach(() => ddb.reset());

  it('sends a transaction at once while fewer than four commits are out', async () => {
    ddb.on(TransactWriteCommand).resolves({});
    const store = new Store(doc, 'table');
    await store.transact([put('a'), add('b')]);
    expect(requests()).toEqual([['a', 'b']]);
  });

  it('commits the transactions asked for while four are out in one request, as soon as one comes back', async () => {
    const { store, release } = heldStore();
    const queued = [store.transact([put('a'), add('total')]), store.transact([put('b')]), store.transact([put('c')])];
    await new Promise((r) => setTimeout(r, 5));
    expect(requests()).toHaveLength(4);
    await release();
    await Promise.all(queued);
    expect(requests().slice(4)).toEqual([['a', 'total', 'b', 'c']]);
  });

  it('never puts two transactions that write one item in one request, unless both writes merge', async () => {
    const { store, release } = heldStore();
    const queued = [
      store.transact([add('total'), put('a')]),
      store.transact([add('total')]),
      store.transact([put('b')]),
    ];
    await release();
    await Promise.all(queued);
    const grouped = requests().slice(4);
    expect(grouped.flat().sort()).toEqual(['a', 'b', 'total', 'total']);
    for (const keys of grouped) expect(new Set(keys).size).toBe(keys.length);
    expect(grouped[0]).toEqual(['total', 'a', 'b']);
  });

  it('fails only the transaction whose own condition failed; the others commit in the next request', async () => {
    class Taken extends Error {}
    const { store, release } = heldStore([cancelled('None', 'None', 'ConditionalCheckFailed', 'None')]);
    const outcomes = [
      settle(store.transact([put('a'), add('n1')])),
      settle(store.transact([put('b', () => new Taken())])),
      settle(store.transact([put('c')])),
    ];
    await release();
    expect(await Promise.all(outcomes)).toEqual(['ok', 'Taken', 'ok']);
    expect(requests().slice(4)).toEqual([
      ['a', 'n1', 'b', 'c'],
      ['a', 'n1', 'c'],
    ]);
  });

  it('retries a group cancelled only by a conflict, whole', async () => {
    const { store, release } = heldStore([cancelled('None', 'TransactionConflict')]);
    const queued = [store.transact([put('a')]), store.transact([put('b')])];
    await release();
    await Promise.all(queued);
    expect(requests().slice(4)).toEqual([
      ['a', 'b'],
      ['a', 'b'],
    ]);
  });

  it('sends each transaction alone after a refusal that names none of them, so each gets its own answer', async () => {
    const tooLarge = Object.assign(new Error('Transaction size exceeded'), {
      name: 'ValidationException',
      $metadata: {},
    });
    const { store, release } = heldStore([tooLarge, undefined, tooLarge]);
    const outcomes = [settle(store.transact([put('a')])), settle(store.transact([put('b')]))];
    await release();
    expect(await Promise.all(outcomes)).toEqual(['ok', 'Error']);
    expect(requests().slice(4)).toEqual([['a', 'b'], ['a'], ['b']]);
  });

  it('never sends a group again member by member after an error that may hide a commit (an answer lost past every retry)', async () => {
    const lost = () => Object.assign(new Error('socket hang up'), { name: 'TimeoutError', $metadata: {} });
    const { store, release } = heldStore(Array.from({ length: 7 }, lost));
    const outcomes = [settle(store.transact([add('a')])), settle(store.transact([add('b')]))];
    await release();
    expect(await Promise.all(outcomes)).toEqual(['Error', 'Error']);
    const grouped = requests().slice(4);
    expect(grouped.length).toBe(7); // the first send and its six retries, all under one token
    for (const keys of grouped) expect(keys).toEqual(['a', 'b']);
    const tokens = ddb
      .commandCalls(TransactWriteCommand)
      .slice(4)
      .map((c) => c.args[0].input.ClientRequestToken);
    expect(new Set(tokens).size).toBe(1);
  });

  it('gives a member whose item DynamoDB refused its own answer, alone, and commits the rest together', async () => {
    const { store, release } = heldStore([cancelled('None', 'ValidationError', 'None')]);
    const outcomes = [
      settle(store.transact([put('a')])),
      settle(store.transact([put('b')])),
      settle(store.transact([put('c')])),
    ];
    await release();
    expect(await Promise.all(outcomes)).toEqual(['ok', 'ok', 'ok']);
    expect(requests().slice(4).sort()).toEqual([['a', 'b', 'c'], ['a', 'c'], ['b']].sort());
  });

  it('merges the additions of queued transactions to one item into one write, their amounts summed', async () => {
    const { store, release } = heldStore();
    const queued = [
      store.transact([put('e1'), credit('balance', 100)]),
      store.transact([put('e2'), credit('balance', 250)]),
      store.transact([put('e3'), credit('balance', -30)]),
    ];
    await release();
    await Promise.all(queued);
    expect(requests().slice(4)).toEqual([['e1', 'balance', 'e2', 'e3']]);
    expect(writesOf(0, 'balance')).toEqual([{ set: { entity: 'balance' }, add: { amount: 320, version: 3 } }]);
  });

  it('resends the others without the addition of a member whose condition failed', async () => {
    class Taken extends Error {}
    const { store, release } = heldStore([cancelled('None', 'None', 'ConditionalCheckFailed', 'None')]);
    const outcomes = [
      settle(store.transact([put('e1'), credit('balance', 100)])),
      settle(store.transact([put('e2', () => new Taken()), credit('balance', 250)])),
      settle(store.transact([put('e3'), credit('balance', 5)])),
    ];
    await release();
    expect(await Promise.all(outcomes)).toEqual(['ok', 'Taken', 'ok']);
    expect(requests().slice(4)).toEqual([
      ['e1', 'balance', 'e2', 'e3'],
      ['e1', 'balance', 'e3'],
    ]);
    expect(writesOf(1, 'balance')).toEqual([{ set: { entity: 'balance' }, add: { amount: 105, version: 2 } }]);
  });

  it('retries a merged write cancelled by a conflict for every member that shares it', async () => {
    const { store, release } = heldStore([cancelled('None', 'TransactionConflict', 'None')]);
    const queued = [
      store.transact([put('e1'), credit('balance', 1)]),
      store.transact([put('e2'), credit('balance', 2)]),
    ];
    await release();
    await Promise.all(queued);
    expect(requests().slice(4)).toEqual([
      ['e1', 'balance', 'e2'],
      ['e1', 'balance', 'e2'],
    ]);
    expect(writesOf(1, 'balance')).toEqual([{ set: { entity: 'balance' }, add: { amount: 3, version: 2 } }]);
  });

  it('keeps apart additions that set other values, and a conditional write of the same item', async () => {
    const { store, release } = heldStore();
    const guarded: TxItem = {
      Update: {
        Key: { pk: 'balance', sk: 'x' },
        UpdateExpression: 'ADD amount :x',
        ConditionExpression: 'amount >= :x',
        ExpressionAttributeValues: { ':x': 1 },
      },
    };
    const queued = [
      store.transact([credit('balance', 1)]),
      store.transact([credit('balance', 2, { entity: 'balance', payable: 'yes' })]),
      store.transact([guarded]),
      store.transact([credit('balance', 4)]),
    ];
    await release();
    await Promise.all(queued);
    const grouped = requests().slice(4);
    for (const keys of grouped) expect(keys).toEqual(['balance']);
    expect(grouped).toHaveLength(3);
    expect(writesOf(0, 'balance')).toEqual([{ set: { entity: 'balance' }, add: { amount: 5, version: 2 } }]);
  });

  it('writes an equal put of sameItemPutTx once; other puts of the item, or plain ones, in separate requests', async () => {
    const { store, release } = heldStore();
    const queued = [
      store.transact([put('e1'), sameItemPutTx({ pk: 'minpay', sk: 'x', minPayout: 100 })]),
      store.transact([put('e2'), sameItemPutTx({ minPayout: 100, sk: 'x', pk: 'minpay' })]),
      store.transact([put('e3'), sameItemPutTx({ pk: 'minpay', sk: 'x', minPayout: 500 })]),
      store.transact([put('e4'), { Put: { Item: { pk: 'minpay', sk: 'x', minPayout: 100 } } }]),
      store.transact([put('e5'), sameItemPutTx({ pk: 'tags', sk: 'x', ids: new Set(['a']) })]),
      store.transact([put('e6'), sameItemPutTx({ pk: 'tags', sk: 'x', ids: new Set(['b']) })]),
    ];
    await release();
    await Promise.all(queued);
    // Sets are not told apart by their JSON: such puts never merge.
    expect(requests().slice(4)).toEqual([
      ['e1', 'minpay', 'e2', 'e5', 'tags'],
      ['e3', 'minpay', 'e6', 'tags'],
      ['e4', 'minpay'],
    ]);
  });

  it('never merges two writes of one item in the same transaction, nor a changed copy of a delta', async () => {
    const { store, release } = heldStore([
      Object.assign(new Error('two operations on one item'), { name: 'ValidationException', $metadata: {} }),
    ]);
    const base = credit('balance', 5) as Extract<TxItem, { Update: unknown }>;
    const changed: TxItem = {
      Update: { ...base.Update, UpdateExpression: `${base.Update.UpdateExpression} REMOVE x` },
    };
    const outcomes = [
      settle(store.transact([put('e1'), credit('balance', 1), credit('balance', 2)])),
      settle(store.transact([put('e2'), changed])),
      settle(store.transact([put('e3'), credit('balance', 3)])),
    ];
    await release();
    await Promise.all(outcomes);
    const grouped = requests().slice(4);
    // The first member's two credits stay two writes (DynamoDB refuses that, as it would alone);
    // the changed copy holds the item alone, so it waits for a group of its own.
    expect(grouped[0]).toEqual(['e1', 'balance', 'balance', 'e3']);
    expect(writesOf(0, 'balance')).toEqual([
      { set: { entity: 'balance' }, add: { amount: 4, version: 2 } },
      { set: { entity: 'balance' }, add: { amount: 2, version: 1 } },
    ]);
    expect(grouped.some((keys) => keys.join() === 'e2,balance')).toBe(true);
  });

  it('sends the members of a refused merged write alone one after another, not all at once on its item', async () => {
    const refused = cancelled('None', 'ValidationError', 'None', 'None', 'None');
    let inFlight = 0;
    let most = 0;
    const gate = deferred();
    let n = 0;
    ddb.on(TransactWriteCommand).callsFake(async () => {
      const i = n++;
      if (i < 4) {
        await gate.promise;
        return {};
      }
      if (i === 4) throw refused;
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      return {};
    });
    const store = new Store(doc, 'table');
    const held = ['h1', 'h2', 'h3', 'h4'].map((pk) => store.transact([put(pk)]));
    const queued = [1, 2, 3, 4].map((k) => store.transact([put(`e${k}`), credit('balance', k)]));
    gate.resolve();
    await Promise.all([...held, ...queued]);
    expect(requests().slice(4)).toEqual([
      ['e1', 'balance', 'e2', 'e3', 'e4'],
      ['e1', 'balance'],
      ['e2', 'balance'],
      ['e3', 'balance'],
      ['e4', 'balance'],
    ]);
    expect(most).toBe(1);
  });
});
