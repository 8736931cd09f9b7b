import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mapLimit } from '../map-limit.ts';
import { MicroBatcher } from './micro-batch.ts';
import { perStore } from './per-store.ts';
import { backoff, type Item, type Key, type Store } from './store.ts';

const MAX_BATCH = 25;

type Request = { PutRequest: { Item: Item } } | { DeleteRequest: { Key: Key } };

/**
 * Collects unconditional puts and deletes made within a few milliseconds into BatchWriteItem
 * requests of up to 25 items (unprocessed items are retried). Each caller's promise settles with
 * the batch that carried its item. For append-only records (click history) and for removing
 * items nothing else writes (delivered outbox items), never for writes with conditions.
 */
export class BatchWriteBuffer {
  private readonly batcher: MicroBatcher<{ request: Request; ok: () => void; fail: (e: unknown) => void }>;

  constructor(
    private readonly store: Store,
    delayMs = 2,
  ) {
    this.batcher = new MicroBatcher(MAX_BATCH, delayMs, async (batch) => {
      await this.write(batch.map((b) => b.request));
      for (const b of batch) b.ok();
    });
  }

  put(item: Item): Promise<void> {
    return this.add({ PutRequest: { Item: item } });
  }

  delete(key: Key): Promise<void> {
    return this.add({ DeleteRequest: { Key: { pk: key.pk, sk: key.sk } } });
  }

  /**
   * Puts `items` now, in requests of their own (25 items each), whatever is queued: for items
   * already put through the buffer that a reader needs written before it reads (writing one
   * again is harmless: these are unconditional puts of the same item).
   */
  async putNow(items: Item[]): Promise<void> {
    const parts: Item[][] = [];
    for (let i = 0; i < items.length; i += MAX_BATCH) parts.push(items.slice(i, i + MAX_BATCH));
    // A few requests at a time: these items often share one partition (one visitor's history).
    await mapLimit(parts, (part) => this.write(part.map((Item) => ({ PutRequest: { Item } }))), 4);
  }

  /** Sends the waiting puts and deletes now, when nothing else is coming soon to share their batch. */
  flush(): void {
    this.batcher.flush();
  }

  private add(request: Request): Promise<void> {
    return new Promise<void>((ok, fail) => this.batcher.add({ request, ok, fail }));
  }

  private async write(requests: Request[]): Promise<void> {
    // One request may not name a key twice: the later write of a key wins.
    const keyOf = (r: Request) => {
      const k = 'PutRequest' in r ? r.PutRequest.Item : r.DeleteRequest.Key;
      return `${k.pk}\u0000${k.sk}`;
    };
    let pending = [...new Map(requests.map((r) => [keyOf(r), r])).values()];
    for (let attempt = 0; pending.length > 0; attempt++) {
      this.store.stats.requests++;
      const r = await this.store.client.send(
        new BatchWriteCommand({ RequestItems: { [this.store.tableName]: pending }, ReturnConsumedCapacity: 'TOTAL' }),
      );
      for (const c of r.ConsumedCapacity ?? []) this.store.stats.writeUnits += c.CapacityUnits ?? 0;
      pending = (r.UnprocessedItems?.[this.store.tableName] ?? []) as Request[];
      if (pending.length > 0) {
        if (attempt >= 8) throw new Error('BatchWriteItem left items unprocessed');
        await backoff(attempt);
      }
    }
  }
}

/** The batch-write buffer of a store. */
export const batchWriteBufferOf = perStore((store) => new BatchWriteBuffer(store));
