import { iso } from '../clock.ts';
import type { Deps } from '../deps.ts';
import { NotFoundError } from '../errors.ts';
import { newId } from '../ids.ts';
import { deadLetterKey, deadLetterListIndex } from '../store/keys.ts';
import type { Page } from '../store/store.ts';
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

/** Records an event that a consumer kept failing on. */
export async function recordDeadLetter(
  deps: Deps,
  input: { consumer: string; event: BusEvent; error: string; attempts: number },
): Promise<DeadLetter> {
  const id = newId('dlq', deps.clock);
  const letter: DeadLetter = { id, ...input, failedAt: iso(deps.clock.now()), status: 'dead' };
  await deps.store.put({ ...deadLetterKey(id), ...deadLetterListIndex(id), entity: 'dead_letter', ...letter });
  return letter;
}

/** Dead letters, newest first. */
export async function listDeadLetters(
  deps: Deps,
  page: { limit: number; cursor?: string | null },
): Promise<Page<DeadLetter>> {
  const r = await deps.store.query<DeadLetter & Record<string, unknown>>({
    index: 'gsi1',
    pk: 'DEADLETTERS',
    limit: page.limit,
    cursor: page.cursor,
    forward: false,
  });
  return { items: r.items.map(toDeadLetter), nextCursor: r.nextCursor };
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
