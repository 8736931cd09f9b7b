import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { MicroBatcher } from './micro-batch.ts';
import { backoff, type Item, type Store } from './store.ts';

const MAX_BATCH = 25;

/**
 * Collects unconditional puts made within a few milliseconds into BatchWriteItem requests of up
 * to 25 items (unprocessed items are retried). Each caller's promise settles with the batch that
 * carried its item. For append-only records (click history), never for writes with conditions.
 */
export class BatchPutBuffer {
  private readonly batcher: MicroBatcher<{ item: Item; ok: () => void; fail: (e: unknown) => void }>;

  constructor(
    private readonly store: Store,
    delayMs = 2,
  ) {
    this.batcher = new MicroBatcher(MAX_BATCH, delayMs, async (batch) => {
      await this.write(batch.map((b) => b.item));
      for (const b of batch) b.ok();
    });
  }

  put(item: Item): Promise<void> {
    return new Promise<void>((ok, fail) => this.batcher.add({ item, ok, fail }));
  }

  private async write(items: Item[]): Promise<void> {
    const unique = new Map(items.map((i) => [`${i.pk}\u0000${i.sk}`, i]));
    let pending = [...unique.values()].map((Item) => ({ PutRequest: { Item } }));
    for (let attempt = 0; pending.length > 0; attempt++) {
      this.store.stats.requests++;
      const r = await this.store.client.send(
        new BatchWriteCommand({ RequestItems: { [this.store.tableName]: pending }, ReturnConsumedCapacity: 'TOTAL' }),
      );
      for (const c of r.ConsumedCapacity ?? []) this.store.stats.writeUnits += c.CapacityUnits ?? 0;
      pending = (r.UnprocessedItems?.[this.store.tableName] ?? []) as typeof pending;
      if (pending.length > 0) {
        if (attempt >= 8) throw new Error('BatchWriteItem left items unprocessed');
        await backoff(attempt);
      }
    }
  }
}

const buffers = new WeakMap<Store, BatchPutBuffer>();

/** The batch-put buffer of a store. */
export function batchPutBufferOf(store: Store): BatchPutBuffer {
  let b = buffers.get(store);
  if (!b) {
    b = new BatchPutBuffer(store);
    buffers.set(store, b);
  }
  return b;
}
