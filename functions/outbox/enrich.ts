import type { DynamoDBRecord } from 'aws-lambda';
import { type OutboxImage, readOutboxImage } from '#shared/events/outbox-image';

/** What the Pipe puts on the bus for one outbox item: `detail-type`, `time` and the parsed detail. */
export interface OutboxEnrichment {
  detailType: string;
  time: string;
  detail: Record<string, unknown>;
}

/** Turns one stream record of an outbox INSERT into the event the bus carries. */
export function enrichRecord(record: DynamoDBRecord): OutboxEnrichment {
  const { detailType, time, detail } = readOutboxImage(record.dynamodb?.NewImage as OutboxImage | undefined);
  return { detailType, time, detail };
}

/**
 * The enrichment step of the outbox Pipe (table stream → bus). The outbox stores the detail as
 * a JSON string and a Pipe input template cannot parse a string into an object, so this turns
 * each record into `{ detailType, time, detail }`; the Pipe's target sends `detail` with that
 * detail-type and time. The answer has one element per record, in order.
 */
export const handler = async (records: DynamoDBRecord[]): Promise<OutboxEnrichment[]> => records.map(enrichRecord);
