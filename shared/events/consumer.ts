import middy from '@middy/core';
import type { EventBridgeEvent } from 'aws-lambda';
import type { Deps } from '../deps.ts';
import { consumedKey } from '../store/keys.ts';
import type { TxItem } from '../store/store.ts';
import { type BusEvent, detailSchema, type EventName } from './schemas.ts';

/** An event consumer: one per rule. `handle` must be idempotent: delivery is at-least-once, in any order. */
export interface Consumer {
  name: string;
  detailTypes: EventName[];
  handle(event: BusEvent, deps: Deps): Promise<void>;
}

/** Thrown by a consumer for an event it can never handle (bad detail): retrying will not help. */
export class PoisonEventError extends Error {}

/** Defines a consumer whose handler only sees details that pass the event's zod schema. */
export function defineConsumer<N extends EventName>(
  name: string,
  detailTypes: N[],
  handle: (event: BusEvent<N>, deps: Deps) => Promise<void>,
): Consumer {
  return {
    name,
    detailTypes,
    async handle(event, deps) {
      const type = event['detail-type'] as N;
      if (!detailTypes.includes(type)) throw new PoisonEventError(`${name} does not consume ${type}`);
      const parsed = detailSchema(type).safeParse(event.detail);
      if (!parsed.success) throw new PoisonEventError(`invalid ${type} detail: ${parsed.error.message}`);
      await handle({ ...event, detail: parsed.data } as unknown as BusEvent<N>, deps);
    },
  };
}

/**
 * The transaction item that marks the cause `causeId` (an order, a refund: whatever the effect is
 * of; `digestOf` its parts) consumed by `consumer`. Put it in the same transaction as the effect: a redelivery, a replay
 * from the archive or a redrive, however late and under whatever event id, then fails this
 * condition and changes nothing. It is kept for good: an effect must never be applied twice.
 */
export function consumedOnce(consumer: string, causeId: string, nowIso: string): TxItem {
  return {
    Put: {
      Item: { ...consumedKey(consumer, causeId), entity: 'consumed', consumer, causeId, at: nowIso },
      ConditionExpression: 'attribute_not_exists(pk)',
    },
    onFail: () => new AlreadyConsumedError(),
  };
}

/** The event was already consumed: the caller treats this as success. */
export class AlreadyConsumedError extends Error {}

/** Runs a consumer's transaction; a repeat delivery (already consumed) is a quiet success. */
export async function runOnce(deps: Deps, items: TxItem[]): Promise<boolean> {
  try {
    await deps.store.transact(items);
    return true;
  } catch (e) {
    if (e instanceof AlreadyConsumedError) return false;
    throw e;
  }
}

/** The Lambda handler of a consumer: middy-wrapped, EventBridge event in, throw to make Lambda retry. */
export function lambdaConsumer(consumer: Consumer, deps: () => Promise<Deps> | Deps) {
  return middy<EventBridgeEvent<string, unknown>>().handler(async (event) => {
    const d = await deps();
    const bus = { ...event, 'detail-type': event['detail-type'] } as unknown as BusEvent;
    d.log.info('consume', { consumer: consumer.name, eventId: (event.detail as { eventId?: string })?.eventId });
    await consumer.handle(bus, d);
  });
}
