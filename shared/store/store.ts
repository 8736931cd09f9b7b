import { randomUUID } from 'node:crypto';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  BatchGetCommand,
  DeleteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { ValidationError } from '../errors.ts';
import { combine, type Queued, takeGroup, writesOf } from './group-commit.ts';
import { MicroBatcher } from './micro-batch.ts';
import type { IndexName } from './table.ts';
import { tableDefinition } from './table.ts';

export type Item = Record<string, unknown>;
export type Key = { pk: string; sk: string };

type TxOp = NonNullable<TransactWriteCommandInput['TransactItems']>[number];
type WithoutTable<T> = T extends { TableName?: unknown } ? Omit<T, 'TableName'> : T;

/** One write of a transaction. `onFail` turns its failed condition into a domain error (given the item as it was). */
export type TxItem = (
  | { Put: WithoutTable<NonNullable<TxOp['Put']>> }
  | { Update: WithoutTable<NonNullable<TxOp['Update']>> }
  | { Delete: WithoutTable<NonNullable<TxOp['Delete']>> }
  | { ConditionCheck: WithoutTable<NonNullable<TxOp['ConditionCheck']>> }
) & { onFail?: (old: Item | undefined) => Error };

export interface QueryInput {
  index?: IndexName;
  pk: string;
  /** Sort key condition: exact prefix, range, or upper/lower bound. */
  sk?: { beginsWith: string } | { between: [string, string] } | { lte: string } | { gte: string } | { lt: string };
  limit?: number;
  cursor?: string | null;
  forward?: boolean;
  consistent?: boolean;
  filter?: { expression: string; names?: Record<string, string>; values?: Record<string, unknown> };
}

export interface Page<T = Item> {
  items: T[];
  nextCursor: string | null;
}

/** A write of a transaction failed its condition; `index` says which. */
export class TransactionConditionError extends Error {
  constructor(
    readonly index: number,
    readonly old: Item | undefined,
  ) {
    super(`Transaction condition failed at item ${index}`);
  }
}

/** Error names that mean "nothing was written, try again" or "the answer was lost". */
const RETRYABLE = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'TransactionInProgressException',
  'InternalServerError',
  'ServiceUnavailable',
  'TimeoutError',
  'RequestTimeout',
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
]);

export function isRetryable(e: unknown): boolean {
  const err = e as { name?: string; code?: string; $retryable?: unknown };
  return Boolean(err && (RETRYABLE.has(err.name ?? '') || RETRYABLE.has(err.code ?? '') || err.$retryable));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Full-jitter exponential backoff before retry `attempt` (at most 1 s). */
export const backoff = (attempt: number) => sleep(Math.random() * Math.min(1000, 8 * 2 ** attempt));

export const encodeCursor = (key: Item | undefined): string | null =>
  key ? Buffer.from(JSON.stringify(key)).toString('base64url') : null;

function decodeCursor(cursor: string, pkName: string, pk: string): Item {
  try {
    const key = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Item;
    if (key && typeof key === 'object' && key[pkName] === pk && Object.values(key).every((v) => typeof v === 'string'))
      return key;
  } catch {
    // fall through
  }
  throw new ValidationError('cursor is not valid for this list', [{ path: 'cursor', message: 'invalid cursor' }]);
}

export interface StoreOptions {
  /**
   * How long atomic counter ADDs to one item gather before each write (see AddBuffer); at least
   * 2 ms. Long only where nothing waits for them (the local server records clicks after answering).
   */
  counterRollUpMs?: number;
  /**
   * The id of this run, set where it is the only one writing to the table (the local server,
   * which runs its own DynamoDB Local): marked on the work it starts, so that work it finds marked
   * running by another run is known to have been cut off by a stop, not still running.
   */
  soleWriterRun?: string;
}

/**
 * The DynamoDB adapter: every access goes through here. It takes its client as a parameter,
 * retries throttling and transaction conflicts (never a failed condition), and turns a failed
 * condition into the caller's domain error.
 */
export class Store {
  /** Requests sent and write capacity consumed, for benchmarks. */
  readonly stats = { requests: 0, writeUnits: 0, readUnits: 0 };
  private readonly outboxWatchers = new Set<(item: Item) => void>();

  constructor(
    readonly client: DynamoDBDocumentClient,
    readonly tableName: string,
    readonly options: StoreOptions = {},
  ) {}

  /**
   * Calls `watch` with each outbox item once a transaction of this store has committed it, and
   * answers the way to stop. The local bus delivers these at once instead of polling for them.
   */
  watchOutbox(watch: (item: Item) => void): () => void {
    this.outboxWatchers.add(watch);
    return () => this.outboxWatchers.delete(watch);
  }

  async get<T = Item>(key: Key, consistent = false): Promise<T | undefined> {
    this.stats.requests++;
    const r = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: key,
        ConsistentRead: consistent,
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    this.stats.readUnits += r.ConsumedCapacity?.CapacityUnits ?? 0;
    return r.Item as T | undefined;
  }

  /** Reads up to 100 items in one request (more are split); missing keys are absent from the result. */
  async batchGet<T = Item>(keys: Key[], consistent = false): Promise<T[]> {
    const out: T[] = [];
    for (let i = 0; i < keys.length; i += 100) {
      let pending: Key[] | undefined = keys.slice(i, i + 100);
      for (let attempt = 0; pending && pending.length > 0; attempt++) {
        this.stats.requests++;
        const r = await this.client.send(
          new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: consistent } } }),
        );
        out.push(...((r.Responses?.[this.tableName] ?? []) as T[]));
        pending = r.UnprocessedKeys?.[this.tableName]?.Keys as Key[] | undefined;
        if (pending?.length) await backoff(attempt);
      }
    }
    return out;
  }

  async query<T = Item>(q: QueryInput): Promise<Page<T>> {
    const index = q.index ? tableDefinition.indexes.find((i) => i.name === q.index)! : undefined;
    const pkName = index?.partitionKey ?? tableDefinition.partitionKey;
    const skName = index?.sortKey ?? tableDefinition.sortKey;
    const names: Record<string, string> = { '#pk': pkName, ...q.filter?.names };
    const values: Record<string, unknown> = { ':pk': q.pk, ...q.filter?.values };
    let cond = '#pk = :pk';
    if (q.sk) {
      names['#sk'] = skName;
      if ('beginsWith' in q.sk) {
        cond += ' AND begins_with(#sk, :sk)';
        values[':sk'] = q.sk.beginsWith;
      } else if ('between' in q.sk) {
        cond += ' AND #sk BETWEEN :sk1 AND :sk2';
        values[':sk1'] = q.sk.between[0];
        values[':sk2'] = q.sk.between[1];
      } else {
        const [op, v] = 'lte' in q.sk ? ['<=', q.sk.lte] : 'gte' in q.sk ? ['>=', q.sk.gte] : ['<', q.sk.lt];
        cond += ` AND #sk ${op} :sk`;
        values[':sk'] = v;
      }
    }
    this.stats.requests++;
    try {
      const r = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: q.index,
          KeyConditionExpression: cond,
          FilterExpression: q.filter?.expression,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          // One more than asked: a page that ends at the last item then answers no cursor.
          Limit: q.limit === undefined ? undefined : q.limit + 1,
          ScanIndexForward: q.forward ?? true,
          ConsistentRead: q.index ? undefined : q.consistent,
          ExclusiveStartKey: q.cursor ? decodeCursor(q.cursor, pkName, q.pk) : undefined,
        }),
      );
      const items = (r.Items ?? []) as T[];
      if (q.limit !== undefined && items.length > q.limit) {
        items.length = q.limit;
        const last = items[q.limit - 1] as Item;
        const names = [tableDefinition.partitionKey, tableDefinition.sortKey, ...(index ? [pkName, skName] : [])];
        return { items, nextCursor: encodeCursor(Object.fromEntries(names.map((n) => [n, last[n]]))) };
      }
      // Fewer than asked came back: the end, unless DynamoDB stopped early (1 MB read, or the filter dropped some).
      return { items, nextCursor: encodeCursor(r.LastEvaluatedKey) };
    } catch (e) {
      if ((e as Error).name === 'ValidationException' && q.cursor) throw new ValidationError('cursor is not valid');
      throw e;
    }
  }

  /** Reads every page of a query (for bounded sets only: a group's members, a payout's items). */
  async queryAll<T = Item>(q: Omit<QueryInput, 'cursor'>): Promise<T[]> {
    const out: T[] = [];
    let cursor: string | null = null;
    do {
      const page: Page<T> = await this.query<T>({ ...q, cursor });
      out.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    return out;
  }

  /** Every item of one partition of the gsi2 day indexes (`<prefix>#<day>#<shard>`) with a sort key in [from, to]. */
  async queryDay<T = Item>(pk: string, period: { from: string; to: string }): Promise<T[]> {
    return this.queryAll<T>({ index: 'gsi2', pk, sk: { between: [period.from, `${period.to}~`] } });
  }

  /** A single put; with `condition`, a failed condition throws `onFail()` (or a TransactionConditionError). */
  async put(
    item: Item,
    opts: {
      condition?: string;
      names?: Record<string, string>;
      values?: Record<string, unknown>;
      onFail?: (old: Item | undefined) => Error;
    } = {},
  ): Promise<void> {
    this.stats.requests++;
    try {
      const r = await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: opts.condition,
          ExpressionAttributeNames: opts.names,
          ExpressionAttributeValues: opts.values,
          ReturnValuesOnConditionCheckFailure: opts.condition ? 'ALL_OLD' : undefined,
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      this.stats.writeUnits += r.ConsumedCapacity?.CapacityUnits ?? 0;
    } catch (e) {
      const err = e as { name?: string; Item?: Item };
      if (err.name === 'ConditionalCheckFailedException')
        throw (opts.onFail ?? conditionError(0))(unmarshallLoose(err.Item));
      throw e;
    }
  }

  /** A single update returning the new item; a failed condition throws `onFail(old)`. */
  async update<T = Item>(input: {
    key: Key;
    update: string;
    condition?: string;
    names?: Record<string, string>;
    values?: Record<string, unknown>;
    onFail?: (old: Item | undefined) => Error;
  }): Promise<T> {
    this.stats.requests++;
    try {
      const r = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: input.key,
          UpdateExpression: input.update,
          ConditionExpression: input.condition,
          ExpressionAttributeNames: input.names,
          ExpressionAttributeValues: input.values,
          ReturnValues: 'ALL_NEW',
          ReturnValuesOnConditionCheckFailure: input.condition ? 'ALL_OLD' : undefined,
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      this.stats.writeUnits += r.ConsumedCapacity?.CapacityUnits ?? 0;
      return r.Attributes as T;
    } catch (e) {
      const err = e as { name?: string; Item?: Item };
      if (err.name === 'ConditionalCheckFailedException')
        throw (input.onFail ?? conditionError(0))(unmarshallLoose(err.Item));
      throw e;
    }
  }

  async delete(key: Key, condition?: { expression: string; values?: Record<string, unknown> }): Promise<void> {
    this.stats.requests++;
    await this.client.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: key,
        ConditionExpression: condition?.expression,
        ExpressionAttributeValues: condition?.values,
      }),
    );
  }

  /**
   * One atomic TransactWriteItems. Retries transaction conflicts, throttling and lost answers
   * (the same ClientRequestToken makes a resend of a committed transaction a no-op); never
   * retries a failed condition: that throws the failing item's `onFail(old)`. Transactions asked
   * for at the same time may be committed together (takeGroup): each still commits whole or
   * not at all, and as it would alone, since they share no item but for writes that commute and
   * merge (additions to a balance, a KOL's day or share stats, and equal puts: see mergeClass).
   */
  async transact(items: TxItem[]): Promise<void> {
    if (items.length > MAX_TRANSACTION_ITEMS)
      throw new Error(`a transaction holds at most ${MAX_TRANSACTION_ITEMS} items, not ${items.length}`);
    const writes = writesOf(items);
    await new Promise<void>((done, fail) => this.groups.add({ tx: items, writes, done, fail }));
  }

  /** Group commit (takeGroup): no delay, at most four commits out at once. */
  private readonly groups = new MicroBatcher<Queued<TxItem[]>>(
    MAX_TRANSACTION_ITEMS,
    0,
    (group) => this.commitGroup(group),
    4,
    (waiting) => takeGroup(waiting, MAX_TRANSACTION_ITEMS),
  );

  /**
   * Commits a group's transactions as one TransactWriteItems (writes that merge, as one: see
   * combine). When DynamoDB cancels it, a transaction whose own condition failed fails as it
   * would alone and the others go again at once; conflicts and throttling alone are retried with
   * backoff; a refusal of the request or of an item (too large, invalid) sends each transaction
   * alone, one after another, so each gets its own answer. Any other error (the answer lost past
   * every retry) is every member's, as it would be alone.
   */
  private async commitGroup(group: Queued<TxItem[]>[]): Promise<void> {
    const apart: Queued<TxItem[]>[] = [];
    let members = group;
    for (let attempt = 0; members.length > 1; ) {
      const { items, at } = combine(members);
      try {
        await this.send(items);
        for (const m of members) m.done();
        members = [];
        break;
      } catch (e) {
        const reasons = cancellationReasons(e);
        if (!reasons && (e as { name?: string }).name !== 'ValidationException') {
          // Perhaps committed (an answer lost past every retry): each member fails as it would
          // alone, and its caller's own idempotency decides; sending it again could apply it twice.
          for (const m of members) m.fail(e);
          members = [];
          break;
        }
        // Refused whole (too large, say) or cancelled unreadably: nothing was written, each goes alone.
        if (reasons?.length !== items.length) break;
        const again: Queued<TxItem[]>[] = [];
        let settled = false;
        for (const [i, m] of members.entries()) {
          const own: CancellationReason[] = at[i]!.map((j) => reasons[j]!);
          const failed = own.findIndex((r) => r.Code === 'ConditionalCheckFailed');
          if (failed >= 0) {
            m.fail((m.tx[failed]?.onFail ?? conditionError(failed))(unmarshallLoose(own[failed]?.Item)));
            settled = true;
          } else if (own.every((r) => !r.Code || r.Code === 'None' || TRANSIENT_CANCELS.has(r.Code))) again.push(m);
          else apart.push(m);
        }
        if (!settled && again.length === members.length) {
          if (!reasons.some((r) => TRANSIENT_CANCELS.has(r.Code ?? ''))) break; // unexplained: each alone
          if (attempt >= 12) {
            for (const m of members) m.fail(e);
            members = [];
            break;
          }
          await backoff(attempt++);
        }
        members = again;
      }
    }
    // One after another: members sharing a merged write would otherwise all meet on its item at once.
    for (const m of [...apart, ...members]) await this.transactAlone(m.tx).then(m.done, m.fail);
  }

  /** One transaction on its own: a failed condition throws its item's `onFail(old)`; conflicts and throttling are retried. */
  private async transactAlone(items: TxItem[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.send(items);
      } catch (e) {
        const reasons = cancellationReasons(e);
        if (!reasons) throw e;
        const failed = reasons.findIndex((r) => r.Code === 'ConditionalCheckFailed');
        if (failed >= 0)
          throw (items[failed]?.onFail ?? conditionError(failed))(unmarshallLoose(reasons[failed]?.Item));
        const transient = reasons.some((r) => TRANSIENT_CANCELS.has(r.Code ?? ''));
        if (!transient || attempt >= 12) throw e;
        await backoff(attempt);
      }
    }
  }

  /**
   * Sends one TransactWriteItems, and tells the outbox's watchers what it committed. Throttling
   * and lost answers are sent again under the same ClientRequestToken (a resend of a committed
   * transaction is a no-op); a cancellation is thrown as DynamoDB answered it.
   */
  private async send(items: TxItem[]): Promise<void> {
    const token = randomUUID();
    const TransactItems = items.map(({ onFail, ...op }) => {
      const [kind, body] = Object.entries(op)[0] as [string, Item];
      return {
        [kind]: {
          ...body,
          TableName: this.tableName,
          ...(onFail && body.ConditionExpression ? { ReturnValuesOnConditionCheckFailure: 'ALL_OLD' } : {}),
        },
      };
    }) as TxOp[];
    for (let attempt = 0; ; attempt++) {
      this.stats.requests++;
      try {
        const r = await this.client.send(
          new TransactWriteCommand({ TransactItems, ClientRequestToken: token, ReturnConsumedCapacity: 'TOTAL' }),
        );
        for (const c of r.ConsumedCapacity ?? []) this.stats.writeUnits += c.CapacityUnits ?? 0;
        if (this.outboxWatchers.size > 0)
          for (const item of items)
            if ('Put' in item && item.Put.Item?.entity === 'outbox')
              for (const watch of this.outboxWatchers) watch(item.Put.Item);
        return;
      } catch (e) {
        const name = (e as { name?: string }).name;
        if (name === 'TransactionCanceledException' || name === 'IdempotentParameterMismatchException') throw e;
        if (isRetryable(e) && attempt < 6) {
          await backoff(attempt);
          continue;
        }
        throw e;
      }
    }
  }
}

type CancellationReason = { Code?: string; Item?: Item };

/** Why DynamoDB cancelled a transaction, item by item; undefined for any other error. */
function cancellationReasons(e: unknown): CancellationReason[] | undefined {
  const err = e as { name?: string; CancellationReasons?: CancellationReason[] };
  return err.name === 'TransactionCanceledException' ? (err.CancellationReasons ?? []) : undefined;
}

/** Cancellation codes that mean "nothing was written, try again". */
const TRANSIENT_CANCELS = new Set(['TransactionConflict', 'ThrottlingError', 'ProvisionedThroughputExceeded']);

/** DynamoDB's limit on the writes of one TransactWriteItems. */
export const MAX_TRANSACTION_ITEMS = 100;

const conditionError = (index: number) => (old: Item | undefined) => new TransactionConditionError(index, old);

const WIRE_TYPES = new Set(['S', 'N', 'B', 'BOOL', 'NULL', 'L', 'M', 'SS', 'NS', 'BS']);

/**
 * Items attached to a failed condition (ReturnValuesOnConditionCheckFailure) come back in
 * DynamoDB's wire shape ({ S: "…" }) even from the document client; turn them into plain
 * values so `onFail` sees the same item a `get` returns.
 */
export function unmarshallLoose(item: Item | undefined): Item | undefined {
  if (!item) return undefined;
  const wire = Object.values(item).every((v) => {
    if (!v || typeof v !== 'object' || Array.isArray(v)) return false;
    const keys = Object.keys(v as object);
    return keys.length === 1 && WIRE_TYPES.has(keys[0]!);
  });
  return wire ? (unmarshall(item as Record<string, AttributeValue>) as Item) : item;
}
