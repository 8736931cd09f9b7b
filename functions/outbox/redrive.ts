import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createDeps } from '#shared/deps';
import {
  type FailedBatch,
  parseFailedBatch,
  putOnBus,
  type ReadBack,
  readFailedBatch,
  republishFailedBatch,
} from '#shared/events/outbox-redrive';
import type { BusEvent } from '#shared/events/schemas';

const deps = createDeps();
const bus = new EventBridgeClient({ region: deps.config.AWS_REGION });
// The Pipe reads the same shard: ride out its share of the shard's read limit.
const streams = new DynamoDBStreamsClient({ region: deps.config.AWS_REGION, maxAttempts: 6 });
const publish = (events: BusEvent[]) => putOnBus(bus, deps.config.EVENT_BUS_NAME, events);

/** The batch's own records from the stream, when it still has them all (up to the batch's last). */
async function fromStream(batch: FailedBatch, messageId: string): Promise<ReadBack | undefined> {
  if (!batch.stream) return undefined;
  try {
    const read = await readFailedBatch(streams, batch.stream);
    if (read) return read;
    deps.log.warn('failed batch not whole on the stream; reading the outbox', { messageId });
  } catch (e) {
    deps.log.warn('failed batch not read from the stream; reading the outbox', { messageId, error: e as Error });
  }
  return undefined;
}

/**
 * Drains the outbox Pipe's dead-letter queue. Each message names a stream batch the Pipe gave up
 * on (the enrichment or the bus kept failing). Its events are read back (from the stream, which
 * keeps records a day, exactly; else from the outbox, every event written around that time) and
 * put on the bus, where idempotent consumers act on the ones they missed. An outbox item too
 * malformed to publish is logged and skipped: sending the message round again cannot mend it. A
 * message that is not a stream batch, whose events cannot be put on the bus yet, or for which the
 * outbox holds fewer events than the batch did, stays in the queue (partial batch failure): SQS
 * offers it again later, and the queue's alarms see it.
 */
export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    const messageId = record.messageId;
    const batch = parseFailedBatch(record.body);
    if (!batch) {
      deps.log.error('outbox dead letter is not a stream batch', { messageId });
      batchItemFailures.push({ itemIdentifier: messageId });
      continue;
    }
    try {
      const exact = await fromStream(batch, messageId);
      if (exact && exact.events.length > 0) await publish(exact.events);
      const { published, unreadable } = exact
        ? { published: exact.events.length, unreadable: exact.unreadable }
        : await republishFailedBatch(deps, batch, publish);
      if (unreadable.length > 0) deps.log.error('outbox items too malformed to republish', { messageId, unreadable });
      // From the outbox, fewer events than the batch held: some are gone too (older than its week?).
      if (!exact && published + unreadable.length < (batch.size ?? 1))
        throw new Error(`found ${published} outbox events for a batch of ${batch.size ?? 'at least 1'}`);
      if (exact && batch.size !== undefined && exact.events.length + exact.unreadable.length !== batch.size)
        deps.log.warn('the stream held a different number of outbox records than the batch size', {
          messageId,
          batchSize: batch.size,
          found: exact.events.length + exact.unreadable.length,
        });
      deps.log.info('outbox batch republished', {
        messageId,
        batchSize: batch.size,
        published,
        from: exact ? 'stream' : 'outbox',
      });
    } catch (e) {
      deps.log.error('outbox batch not republished', { messageId, error: e as Error });
      batchItemFailures.push({ itemIdentifier: messageId });
    }
  }
  return { batchItemFailures };
};
