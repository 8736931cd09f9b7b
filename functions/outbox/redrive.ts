import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createDeps } from '#shared/deps';
import {
  type FailedBatch,
  parseFailedBatch,
  putOnBus,
  readFailedBatch,
  republishFailedBatch,
} from '#shared/events/outbox-redrive';
import type { BusEvent } from '#shared/events/schemas';

const deps = createDeps();
const bus = new EventBridgeClient({ region: deps.config.AWS_REGION });
const streams = new DynamoDBStreamsClient({ region: deps.config.AWS_REGION });
const publish = (events: BusEvent[]) => putOnBus(bus, deps.config.EVENT_BUS_NAME, events);

/** The batch's own events from the stream, when it still has all of them. */
async function fromStream(batch: FailedBatch, messageId: string): Promise<BusEvent[] | undefined> {
  if (!batch.stream) return undefined;
  try {
    const events = await readFailedBatch(streams, batch.stream);
    if (events && events.length >= (batch.size ?? 1)) return events;
    deps.log.warn('failed batch not whole on the stream; reading the outbox', { messageId, found: events?.length });
  } catch (e) {
    deps.log.warn('failed batch not read from the stream; reading the outbox', { messageId, error: e as Error });
  }
  return undefined;
}

/**
 * Drains the outbox Pipe's dead-letter queue. Each message names a stream batch the Pipe gave up
 * on (the enrichment or the bus kept failing). Its events are read back (from the stream, which
 * keeps records a day, exactly; else from the outbox, every event written around that time) and
 * put on the bus, where idempotent consumers act on the ones they missed. A message that is not
 * a stream batch, whose events cannot be put on the bus yet, or for which fewer events are found
 * than the batch held, stays in the queue (partial batch failure): SQS offers it again later,
 * and the queue's alarms see it.
 */
export const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    const batch = parseFailedBatch(record.body);
    if (!batch) {
      deps.log.error('outbox dead letter is not a stream batch', { messageId: record.messageId });
      batchItemFailures.push({ itemIdentifier: record.messageId });
      continue;
    }
    try {
      const exact = await fromStream(batch, record.messageId);
      if (exact) await publish(exact);
      const published = exact ? exact.length : await republishFailedBatch(deps, batch, publish);
      // Fewer events than the batch held: some are gone from the outbox too (older than its week?).
      if (published < (batch.size ?? 1))
        throw new Error(`found ${published} outbox events for a batch of ${batch.size ?? 'at least 1'}`);
      deps.log.info('outbox batch republished', {
        messageId: record.messageId,
        batchSize: batch.size,
        published,
        from: exact ? 'stream' : 'outbox',
      });
    } catch (e) {
      deps.log.error('outbox batch not republished', { messageId: record.messageId, error: e as Error });
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
};
