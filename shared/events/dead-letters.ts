import { epochSeconds, iso } from '../clock.ts';
import type { Deps } from '../deps.ts';
import { NotFoundError } from '../errors.ts';
import { newId } from '../ids.ts';
import { deadLetterKey, deadLetterListIndex, deadLetterListPk, deadLetterMessageKey } from '../store/keys.ts';
import type { Page, Store } from '../store/store.ts';
import type { BusEvent } from './schemas.ts';

export interface DeadLetter {
  id: string;
  consumer: string;
  event: BusEvent;
  error: string;
  attempts: number;
  failedAt: string;
  status: 'dead' | 'redriven';
  redrivenAt?: string;
}

/** Queue messages are redelivered within the queue's retention (14 days at most): their marks live that long. */
const MESSAGE_MARK_SECONDS = 14 * 24 * 3600;

/**
 * Records an event that a consumer kept failing on. With the `messageId` of the queue message it
 * came in (SQS delivers at least once), the letter and a mark of that message are written
 * together, so a redelivered message answers the letter already recorded instead of a second one.
 */
export async function recordDeadLetter(
  deps: Deps,
  input: { consumer: string; event: BusEvent; error: string; attempts: number; messageId?: string },
): Promise<DeadLetter> {
  const { messageId, ...fields } = input;
  const id = newId('dlq', deps.clock);
  const now = deps.clock.now();
  const letter: DeadLetter = { id, ...fields, failedAt: iso(now), status: 'dead' };
  const item = { ...deadLetterKey(id), ...deadLetterListIndex(id), entity: 'dead_letter', ...letter };
  if (!messageId) {
    await deps.store.put(item);
    return letter;
  }
  try {
    await deps.store.transact([
      {
        Put: {
          Item: {
            ...deadLetterMessageKey(input.consumer, messageId),
            entity: 'dead_letter_message',
            letterId: id,
            ttl: epochSeconds(now) + MESSAGE_MARK_SECONDS,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
        onFail: (old) => new AlreadyRecorded(String(old?.letterId)),
      },
      { Put: { Item: item } },
    ]);
    return letter;
  } catch (e) {
    if (e instanceof AlreadyRecorded) return getDeadLetter(deps, e.letterId);
    throw e;
  }
}

class AlreadyRecorded extends Error {
  constructor(readonly letterId: string) {
    super('dead letter already recorded');
  }
}

/** Dead letters, newest first. */
export async function listDeadLetters(
  deps: Deps,
  page: { limit: number; cursor?: string | null },
): Promise<Page<DeadLetter>> {
  const r = await deps.store.query<DeadLetter & Record<string, unknown>>({
    index: 'gsi1',
    pk: deadLetterListPk,
    limit: page.limit,
    cursor: page.cursor,
    forward: false,
  });
  return { items: r.items.map(toDeadLetter), nextCursor: r.nextCursor };
}

/** Every dead letter not redriven yet (a finance batch reads them all; they are few). */
export async function listDeadLettersStillDead(store: Store): Promise<DeadLetter[]> {
  const items = await store.queryAll<DeadLetter & Record<string, unknown>>({
    index: 'gsi1',
    pk: deadLetterListPk,
    filter: { expression: '#status = :dead', names: { '#status': 'status' }, values: { ':dead': 'dead' } },
  });
  return items.map(toDeadLetter);
}

export async function getDeadLetter(deps: Deps, id: string): Promise<DeadLetter> {
  const item = await deps.store.get<DeadLetter & Record<string, unknown>>(deadLetterKey(id), true);
  if (!item) throw new NotFoundError('dead letter');
  return toDeadLetter(item);
}

/** Delivers a dead letter's event again to its consumer; on success it is marked redriven. */
export async function redriveDeadLetter(
  deps: Deps,
  id: string,
  deliver: (consumer: string, event: BusEvent) => Promise<void>,
): Promise<DeadLetter> {
  const letter = await getDeadLetter(deps, id);
  try {
    await deliver(letter.consumer, letter.event);
  } catch (e) {
    const updated = await deps.store.update<DeadLetter & Record<string, unknown>>({
      key: deadLetterKey(id),
      update: 'SET attempts = attempts + :one, #error = :error',
      names: { '#error': 'error' },
      values: { ':one': 1, ':error': String((e as Error).message ?? e) },
    });
    return toDeadLetter(updated);
  }
  const updated = await deps.store.update<DeadLetter & Record<string, unknown>>({
    key: deadLetterKey(id),
    update: 'SET #status = :redriven, redrivenAt = :now',
    names: { '#status': 'status' },
    values: { ':redriven': 'redriven', ':now': iso(deps.clock.now()) },
  });
  return toDeadLetter(updated);
}

function toDeadLetter(item: DeadLetter & Record<string, unknown>): DeadLetter {
  const { id, consumer, event, error, attempts, failedAt, status, redrivenAt } = item;
  return { id, consumer, event, error, attempts, failedAt, status, ...(redrivenAt ? { redrivenAt } : {}) };
}
