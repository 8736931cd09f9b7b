import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createDeps } from '#shared/deps';
import { parseFailedBatch, putOnBus, republishFailedBatch } from '#shared/events/outbox-redrive';

const deps = createDeps();
const bus = new EventBridgeClient({ region: deps.config.AWS_REGION });

/**
 * Drains the outbox Pipe's dead-letter queue. Each message names a stream batch the Pipe gave up
 * on (the enrichment or the bus kept failing); its events are read back from the outbox and put
 * on the bus, where idempotent consumers act on the ones they missed. A message that is not a
 * stream batch, whose events cannot be put on the bus yet, or for which the outbox holds fewer
 * events than the batch did, stays in the queue (partial batch failure): SQS offers it again
 * later, and the queue's alarms see it.
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
      const published = await republishFailedBatch(deps, batch, (events) =>
        putOnBus(bus, deps.config.EVENT_BUS_NAME, events),
      );
      // Fewer events than the batch held: some are gone from the outbox (older than its week?).
      if (published < (batch.size ?? 1))
        throw new Error(`found ${published} outbox events for a batch of ${batch.size ?? 'at least 1'}`);
      deps.log.info('outbox batch republished', { messageId: record.messageId, batchSize: batch.size, published });
    } catch (e) {
      deps.log.error('outbox batch not republished', { messageId: record.messageId, error: e as Error });
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
};
