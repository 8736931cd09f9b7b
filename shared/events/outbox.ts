import type { Clock } from '../clock.ts';
import { epochSeconds, iso } from '../clock.ts';
import { newId } from '../ids.ts';
import { outboxKey, outboxPendingIndex } from '../store/keys.ts';
import type { TxItem } from '../store/store.ts';
import { type OutboxImage, type OutboxImageEvent, readOutboxImage } from './outbox-image.ts';
import {
  type BusEvent,
  detailSchema,
  EVENT_SOURCE,
  type EventDetail,
  type EventFields,
  type EventName,
} from './schemas.ts';

/** Outbox items live a week: long enough for the stream, the Pipe and the local bus to deliver them. */
const OUTBOX_TTL_SECONDS = 7 * 24 * 3600;

/** The stored form of an event: written in the same transaction as the state change it reports. */
export interface OutboxItem {
  pk: string;
  sk: string;
  entity: 'outbox';
  eventId: string;
  detailType: EventName;
  /** The event detail as a JSON string (what the Pipe forwards as the EventBridge detail). */
  detail: string;
  occurredAt: string;
  ttl: number;
  gsi4pk?: string;
  gsi4sk?: string;
}

/** Builds an event (validated against its schema, so a producer cannot emit a malformed one). */
export function buildEvent<N extends EventName>(name: N, fields: EventFields<N>, clock: Clock): BusEvent<N> {
  const occurredAt = iso(clock.now());
  const eventId = newId('evt', clock);
  const detail = detailSchema(name).parse({ ...fields, eventId, occurredAt, version: 1 }) as unknown as EventDetail<N>;
  return { id: eventId, source: EVENT_SOURCE, 'detail-type': name, time: occurredAt, detail };
}

/** The transaction item that records an event in the outbox. */
export function outboxPut<N extends EventName>(name: N, fields: EventFields<N>, clock: Clock): TxItem {
  const event = buildEvent(name, fields, clock);
  const item: OutboxItem = {
    ...outboxKey(event.id),
    entity: 'outbox',
    eventId: event.id,
    detailType: name,
    detail: JSON.stringify(event.detail),
    occurredAt: event.time,
    ttl: epochSeconds(clock.now()) + OUTBOX_TTL_SECONDS,
    ...outboxPendingIndex(event.id),
  };
  return { Put: { Item: item as unknown as Record<string, unknown>, ConditionExpression: 'attribute_not_exists(pk)' } };
}

/** The event the bus carries for an outbox item's id, detail-type, time and (parsed) detail. */
function busEvent(e: OutboxImageEvent): BusEvent {
  return {
    id: e.eventId,
    source: EVENT_SOURCE,
    'detail-type': e.detailType,
    time: e.time,
    detail: e.detail,
  } as BusEvent;
}

/** Turns a stored outbox item back into the event the bus carries. */
export function eventFromOutbox(item: OutboxItem): BusEvent {
  return busEvent({ ...item, time: item.occurredAt, detail: JSON.parse(item.detail) });
}

/** Turns an outbox item's image on the table's stream into the event the bus carries. */
export function eventFromImage(image: OutboxImage | undefined): BusEvent {
  return busEvent(readOutboxImage(image));
}
