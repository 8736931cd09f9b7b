import { encodeTime } from 'ulid';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '#shared/clock';
import { outboxPut } from '#shared/events/outbox';
import { REDRIVE_MARGIN_MS, republishFailedBatch } from '#shared/events/outbox-redrive';
import type { BusEvent } from '#shared/events/schemas';
import { outboxKey, outboxShardPk } from '#shared/store/keys';
import { createHarness } from '../../support/harness.ts';
import { paid } from './support.ts';

const T0 = Date.parse('2026-11-24T10:00:00.000Z');
const MIN = 60_000;

/** Writes an OrderPaid event for `orderId` to the outbox as if committed at `atMs` (the bus never delivers it). */
async function commit(h: Awaited<ReturnType<typeof createHarness>>, clock: ManualClock, orderId: string, atMs: number) {
  clock.set(atMs);
  await h.deps.store.transact([outboxPut('OrderPaid', paid(orderId), clock)]);
}

describe('Outbox redrive: a stream batch the Pipe gave up on', () => {
  it('puts back on the bus every outbox event written within the margin of the batch, each once, with its detail', async () => {
    const clock = new ManualClock(T0);
    const h = await createHarness({ clock });
    const margin = REDRIVE_MARGIN_MS;
    await commit(h, clock, 'long-before', T0 - margin - MIN);
    await commit(h, clock, 'just-inside-before', T0 - margin + 1000);
    for (let i = 0; i < 230; i++) await commit(h, clock, `in-batch-${i}`, T0 + i * 10);
    await commit(h, clock, 'just-inside-after', T0 + 2 * MIN + margin - 1000);
    await commit(h, clock, 'long-after', T0 + 2 * MIN + margin + MIN);

    const published: BusEvent[][] = [];
    // An outbox item too malformed to publish, among them: skipped and named, never blocking the rest.
    await h.deps.store.put({
      ...outboxKey('evt_malformed'),
      entity: 'outbox',
      eventId: 'evt_malformed',
      detailType: 'OrderPaid',
      detail: '{not json',
      occurredAt: new Date(T0).toISOString(),
      gsi4pk: outboxShardPk(0),
      gsi4sk: `evt_${encodeTime(T0 + 5, 10)}`,
    });
    const { published: n, unreadable } = await republishFailedBatch(
      h.deps,
      { fromMs: T0, toMs: T0 + 2 * MIN },
      async (events) => {
        published.push(events);
      },
    );
    expect(unreadable).toEqual([outboxKey('evt_malformed').pk]);

    const orders = published.flat().map((e) => (e.detail as { orderId: string }).orderId);
    expect(n).toBe(232);
    expect(new Set(orders).size).toBe(232);
    expect(orders).toEqual(
      expect.arrayContaining(['just-inside-before', 'in-batch-0', 'in-batch-229', 'just-inside-after']),
    );
    expect(orders).not.toContain('long-before');
    expect(orders).not.toContain('long-after');
    // Read a page (at most 100) at a time, never all of a busy window at once.
    expect(Math.max(...published.map((p) => p.length))).toBeLessThanOrEqual(100);
    const one = published.flat().find((e) => (e.detail as { orderId: string }).orderId === 'in-batch-7')!;
    expect(one).toMatchObject({
      source: 'fission.growth',
      'detail-type': 'OrderPaid',
      time: new Date(T0 + 70).toISOString(),
    });
    expect(one.detail).toMatchObject({ ...paid('in-batch-7'), eventId: one.id, version: 1 });
  });

  it('republishes nothing for a window with no events, and a failing bus fails the redrive', async () => {
    // Event ids never go back in time within a process, so this test's clock starts after the first one's.
    const T1 = T0 + 24 * 60 * MIN;
    const clock = new ManualClock(T1);
    const h = await createHarness({ clock });
    await commit(h, clock, 'o1', T1);
    const { published: nothing } = await republishFailedBatch(
      h.deps,
      { fromMs: T1 + 60 * MIN, toMs: T1 + 61 * MIN },
      async () => {
        throw new Error('not called');
      },
    );
    expect(nothing).toBe(0);
    await expect(
      republishFailedBatch(h.deps, { fromMs: T1, toMs: T1 }, async () => {
        throw new Error('bus down');
      }),
    ).rejects.toThrow('bus down');
  });
});
