import type { DynamoDBRecord } from 'aws-lambda';

/** What the Pipe puts on the bus for one outbox item: `detail-type`, `time` and the parsed detail. */
export interface OutboxEnrichment {
  detailType: string;
  time: string;
  detail: Record<string, unknown>;
}

/** A string attribute of a stream image (`{ S: '...' }`). */
function str(image: Record<string, { S?: string }> | undefined, name: string): string {
  const v = image?.[name]?.S;
  if (typeof v !== 'string') throw new Error(`outbox item has no string attribute ${name}`);
  return v;
}

/** Turns one stream record of an outbox INSERT into the event the bus carries. */
export function enrichRecord(record: DynamoDBRecord): OutboxEnrichment {
  const image = record.dynamodb?.NewImage as Record<string, { S?: string }> | undefined;
  const detail = JSON.parse(str(image, 'detail')) as Record<string, unknown>;
  return { detailType: str(image, 'detailType'), time: str(image, 'occurredAt'), detail };
}

/**
 * The enrichment step of the outbox Pipe (table stream → bus). The outbox stores the detail as
 * a JSON string and a Pipe input template cannot parse a string into an object, so this turns
 * each record into `{ detailType, time, detail }`; the Pipe's target sends `detail` with that
 * detail-type and time. The answer has one element per record, in order.
 */
export const handler = async (records: DynamoDBRecord[]): Promise<OutboxEnrichment[]> => records.map(enrichRecord);
