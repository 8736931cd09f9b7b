import { setTimeout as sleep } from 'node:timers/promises';
import {
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
} from '@aws-sdk/client-dynamodb-streams';
import { type EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import { encodeTime } from 'ulid';
import type { Deps } from '../deps.ts';
import { INDEX_SHARDS, outboxShardPk } from '../store/keys.ts';
import type { Page } from '../store/store.ts';
import { eventFromImage, eventFromOutbox, type OutboxItem } from './outbox.ts';
import type { OutboxImage } from './outbox-image.ts';
import type { BusEvent } from './schemas.ts';

/**
 * How far around a failed batch's arrival times the outbox is read again. An event's id carries
 * the clock of the Lambda that built it, a little before its transaction committed (retries
 * take seconds); the stream stamps each record when it was written, to the second.
 */
export const REDRIVE_MARGIN_MS = 2 * 60 * 1000;

/** A batch the outbox Pipe gave up on: when its records reached the table's stream, and where. */
export interface FailedBatch {
  fromMs: number;
  toMs: number;
  /** How many records the batch held (as the Pipe reported it). */
  size?: number;
  /** Its first and last record on the stream, when the message names them. */
  stream?: { arn: string; shardId: string; start: string; end: string };
}

/**
 * Reads a message of the outbox Pipe's dead-letter queue. For a stream source it describes the
 * batch, not its records: `DDBStreamBatchInfo` with the shard, the sequence numbers and the
 * approximate arrival of its first and last record. Anything else is not a failed batch.
 */
export function parseFailedBatch(body: string): FailedBatch | undefined {
  let message: unknown;
  try {
    message = JSON.parse(body);
  } catch {
    return undefined;
  }
  const info = (message as { DDBStreamBatchInfo?: Record<string, unknown> } | null)?.DDBStreamBatchInfo;
  if (!info || typeof info !== 'object') return undefined;
  const fromMs = Date.parse(String(info.approximateArrivalOfFirstRecord));
  const toMs = Date.parse(String(info.approximateArrivalOfLastRecord ?? info.approximateArrivalOfFirstRecord));
  if (!Number.isFinite(fromMs) || !Number.isFinite(toMs) || toMs < fromMs) return undefined;
  const [arn, shardId, start, end] = [
    info.streamArn,
    info.shardId,
    info.startSequenceNumber,
    info.endSequenceNumber,
  ].map((v) => (typeof v === 'string' && v.length > 0 ? v : undefined));
  return {
    fromMs,
    toMs,
    ...(typeof info.batchSize === 'number' ? { size: info.batchSize } : {}),
    ...(arn && shardId && start && end && /^\d+$/.test(start) && /^\d+$/.test(end)
      ? { stream: { arn, shardId, start, end } }
      : {}),
  };
}

/** Empty pages a shard may answer before the records that follow them (an open shard does). */
const EMPTY_PAGES_MAX = 10;

/** Events read back for a failed batch, and the ids of outbox items too malformed to publish. */
export interface ReadBack {
  events: BusEvent[];
  unreadable: string[];
}

/**
 * Reads one record into `events`, or its id into `unreadable` when it is malformed: one bad item
 * must not hold back the rest of its batch, or fail it again at every retry.
 */
function take<T>(record: T, read: (r: T) => BusEvent, id: (r: T) => string, into: ReadBack): void {
  try {
    into.events.push(read(record));
  } catch {
    into.unreadable.push(id(record));
  }
}

/**
 * The events of a failed batch, read back from the table's stream: every outbox INSERT from its
 * first record through its last (the Pipe's filter passed only those, so these are the batch).
 * Answers undefined when the batch's last record is not reached, and throws when the stream
 * cannot be read (it keeps records 24 h); the caller then falls back to the outbox itself.
 */
export async function readFailedBatch(
  client: DynamoDBStreamsClient,
  stream: NonNullable<FailedBatch['stream']>,
): Promise<ReadBack | undefined> {
  const end = BigInt(stream.end);
  const found: ReadBack = { events: [], unreadable: [] };
  let iterator = (
    await client.send(
      new GetShardIteratorCommand({
        StreamArn: stream.arn,
        ShardId: stream.shardId,
        ShardIteratorType: 'AT_SEQUENCE_NUMBER',
        SequenceNumber: stream.start,
      }),
    )
  ).ShardIterator;
  for (let empty = 0; iterator && empty < EMPTY_PAGES_MAX; ) {
    const page = await client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
    const records = page.Records ?? [];
    empty = records.length === 0 ? empty + 1 : 0;
    for (const r of records) {
      const seq = BigInt(r.dynamodb?.SequenceNumber ?? '0');
      if (seq > end) return found;
      const image = r.dynamodb?.NewImage as OutboxImage | undefined;
      if (r.eventName === 'INSERT' && image?.entity?.S === 'outbox')
        take(image, eventFromImage, (i) => i.pk?.S ?? '?', found);
      if (seq === end) return found;
    }
    iterator = page.NextShardIterator;
  }
  return undefined; // the batch's last record was never reached
}

/**
 * Puts every outbox event written within `REDRIVE_MARGIN_MS` of a failed batch back on the bus.
 * Outbox items stay in the table for a week, indexed by event id (time-ordered) in gsi4, so the
 * batch's events are among them. The window also takes neighbours that were delivered: consumers
 * act once per `eventId`, so a second delivery changes nothing. Answers how many were published,
 * and the keys of outbox items too malformed to publish (skipped, so they cannot block the rest).
 */
export async function republishFailedBatch(
  deps: Pick<Deps, 'store'>,
  batch: FailedBatch,
  publish: (events: BusEvent[]) => Promise<void>,
): Promise<{ published: number; unreadable: string[] }> {
  const from = `evt_${encodeTime(Math.max(0, batch.fromMs - REDRIVE_MARGIN_MS), 10)}`;
  const to = `evt_${encodeTime(batch.toMs + REDRIVE_MARGIN_MS, 10)}~`;
  // The shards are independent: read and publish them side by side, and let every one finish
  // (a shard still publishing after the handler returned would run on in a later invocation).
  const unreadable: string[] = [];
  const perShard = await Promise.allSettled(
    Array.from({ length: INDEX_SHARDS }, async (_, shard) => {
      let published = 0;
      let cursor: string | null = null;
      do {
        const page: Page<OutboxItem> = await deps.store.query<OutboxItem>({
          index: 'gsi4',
          pk: outboxShardPk(shard),
          sk: { between: [from, to] },
          limit: 100,
          cursor,
        });
        const read: ReadBack = { events: [], unreadable };
        for (const item of page.items) take(item, eventFromOutbox, (i) => i.pk, read);
        if (read.events.length > 0) await publish(read.events);
        published += read.events.length;
        cursor = page.nextCursor;
      } while (cursor);
      return published;
    }),
  );
  const failed = perShard.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  return { published: perShard.reduce((sum, r) => sum + (r.status === 'fulfilled' ? r.value : 0), 0), unreadable };
}

/** PutEvents takes at most 10 entries a request. */
const PUT_EVENTS_MAX = 10;

/**
 * Puts events on the bus as the Pipe would have (same source, detail-type, time and detail).
 * Entries the bus refuses are sent again after `wait`ing (a growing, jittered backoff); if some
 * are still refused after six tries, this throws.
 */
export async function putOnBus(
  client: EventBridgeClient,
  busName: string,
  events: BusEvent[],
  wait: (ms: number) => Promise<unknown> = sleep,
): Promise<void> {
  for (let i = 0; i < events.length; i += PUT_EVENTS_MAX) {
    let entries: PutEventsRequestEntry[] = events.slice(i, i + PUT_EVENTS_MAX).map((e) => ({
      EventBusName: busName,
      Source: e.source,
      DetailType: e['detail-type'],
      Time: new Date(e.time),
      Detail: JSON.stringify(e.detail),
    }));
    for (let attempt = 0; entries.length > 0; attempt++) {
      const r = await client.send(new PutEventsCommand({ Entries: entries }));
      if (!r.FailedEntryCount) break;
      // Answers come in request order; without them, every entry counts as refused.
      const refused = r.Entries?.length === entries.length ? entries.filter((_, j) => r.Entries![j]!.ErrorCode) : [];
      const again = refused.length > 0 ? refused : entries;
      if (attempt >= 5)
        throw new Error(
          `PutEvents refused ${again.length} events: ${r.Entries?.find((x) => x.ErrorCode)?.ErrorMessage ?? 'unknown'}`,
        );
      entries = again;
      await wait(Math.random() * Math.min(10_000, 200 * 2 ** attempt)); // rides out throttling: up to ~6 s in all
    }
  }
}
