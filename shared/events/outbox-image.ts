/** An outbox item's image on the table's stream (`{ name: { S: '...' } }`). */
export type OutboxImage = Record<string, { S?: string } | undefined>;

/** What an outbox INSERT on the stream carries: the event's id, detail-type, time and detail. */
export interface OutboxImageEvent {
  eventId: string;
  detailType: string;
  time: string;
  detail: Record<string, unknown>;
}

/** A string attribute of a stream image. */
function imageString(image: OutboxImage | undefined, name: string): string {
  const v = image?.[name]?.S;
  if (typeof v !== 'string') throw new Error(`outbox item has no string attribute ${name}`);
  return v;
}

/**
 * Reads the event out of an outbox item's stream image. Depends on nothing else, so the Pipe's
 * enrichment Lambda stays a few hundred bytes.
 */
export function readOutboxImage(image: OutboxImage | undefined): OutboxImageEvent {
  return {
    eventId: imageString(image, 'eventId'),
    detailType: imageString(image, 'detailType'),
    time: imageString(image, 'occurredAt'),
    detail: JSON.parse(imageString(image, 'detail')) as Record<string, unknown>,
  };
}
