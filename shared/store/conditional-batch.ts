import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { MicroBatcher } from './micro-batch.ts';
import { perStore } from './per-store.ts';
import { backoff, type Item, isRetryable, type Store, unmarshallLoose } from './store.ts';

const MAX_ITEMS = 100;

/** A conditional put's outcome: written, or refused with the item as it was. */
export type PutOutcome = { ok: true } | { ok: false; old: Item | undefined };

interface Pending {
  item: Item;
  condition: string;
  values: Record<string, unknown> | undefined;
  names: Record<string, string> | undefined;
  done: (o: PutOutcome) => void;
  fail: (e: unknown) => void;
}

/**
 * Sends conditional puts of distinct items made within a few milliseconds as one
 * TransactWriteItems of up to 100. When some conditions fail, DynamoDB cancels the whole
 * transaction and says which ones: those answer "refused" and the rest go again (conflicts and
 * throttling too, with backoff). A lone put goes as a plain PutItem. Callers must not put the
 * same key twice at once (one transaction cannot hold two writes of one item).
 */
export class ConditionalPutBatcher {
  private readonly batcher: MicroBatcher<Pending>;

  constructor(
    private readonly store: Store,
    delayMs = 2,
  ) {
    this.batcher = new MicroBatcher(MAX_ITEMS, delayMs, (batch) => this.send(batch));
  }

  put(
    item: Item,
    condition: string,
    values?: Record<string, unknown>,
    names?: Record<string, string>,
  ): Promise<PutOutcome> {
    return new Promise<PutOutcome>((done, fail) => this.batcher.add({ item, condition, values, names, done, fail }));
  }

  private async send(batch: Pending[]): Promise<void> {
    let pending = batch;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (pending.length === 1) {
        const p = pending[0]!;
        let old: Item | undefined;
        let refused = false;
        await this.store
          .put(p.item, {
            condition: p.condition,
            ...(p.values ? { values: p.values } : {}),
            ...(p.names ? { names: p.names } : {}),
            onFail: (o) => {
              old = o;
              refused = true;
              return new Refused();
            },
          })
          .catch((e) => {
            if (!(e instanceof Refused)) throw e;
          });
        p.done(refused ? { ok: false, old } : { ok: true });
        return;
      }
      this.store.stats.requests++;
      try {
        const r = await this.store.client.send(
          new TransactWriteCommand({
            TransactItems: pending.map((p) => ({
              Put: {
                TableName: this.store.tableName,
                Item: p.item,
                ConditionExpression: p.condition,
                ...(p.values ? { ExpressionAttributeValues: p.values } : {}),
                ...(p.names ? { ExpressionAttributeNames: p.names } : {}),
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            })),
            ReturnConsumedCapacity: 'TOTAL',
          }),
        );
        for (const c of r.ConsumedCapacity ?? []) this.store.stats.writeUnits += c.CapacityUnits ?? 0;
        for (const p of pending) p.done({ ok: true });
        return;
      } catch (e) {
        const err = e as { name?: string; CancellationReasons?: { Code?: string; Item?: Item }[] };
        if (err.name !== 'TransactionCanceledException' || !err.CancellationReasons) {
          if (!isRetryable(e) || attempt >= 6) throw e;
          await backoff(attempt);
          continue;
        }
        const again: Pending[] = [];
        err.CancellationReasons.forEach((reason, i) => {
          const p = pending[i]!;
          if (reason.Code === 'ConditionalCheckFailed') p.done({ ok: false, old: unmarshallLoose(reason.Item) });
          else again.push(p);
        });
        if (again.length === pending.length && attempt >= 10) throw e;
        if (again.length === pending.length) await backoff(attempt);
        pending = again;
      }
    }
  }
}

class Refused extends Error {}

/** The conditional-put batcher of a store. */
export const conditionalPutBatcherOf = perStore((store) => new ConditionalPutBatcher(store));
