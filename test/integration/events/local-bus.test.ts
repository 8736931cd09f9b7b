import { describe, expect, it, vi } from 'vitest';
import { iso } from '#shared/clock';
import type { Deps } from '#shared/deps';
import { consumedOnce, defineConsumer, runOnce } from '#shared/events/consumer';
import { buildEvent, outboxPut } from '#shared/events/outbox';
import type { Rule } from '#shared/events/rules';
import { createHarness } from '../../support/harness.ts';
import { paid } from './support.ts';

const rule: Rule = { consumer: 'test-counter', detailTypes: ['OrderPaid'], description: 'counts paid orders' };

/** A consumer whose effect (a counter per order) is written once per event, and that fails on demand. */
function counterConsumer(failTimes: Map<string, number>) {
  const attempts = new Map<string, number>();
  const consumer = defineConsumer('test-counter', ['OrderPaid'], async (event, deps: Deps) => {
    const n = (attempts.get(event.detail.orderId) ?? 0) + 1;
    attempts.set(event.detail.orderId, n);
    if (n <= (failTimes.get(event.detail.orderId) ?? 0)) throw new Error(`failing on purpose (${n})`);
    await runOnce(deps, [
      consumedOnce('test-counter', event.detail.eventId, iso(deps.clock.now()), 9_999_999_999),
      {
        Update: {
          Key: { pk: `COUNT#${event.detail.orderId}`, sk: 'X' },
          UpdateExpression: 'ADD n :one',
          ExpressionAttributeValues: { ':one': 1 },
        },
      },
    ]);
  });
  return { consumer, attempts };
}

async function setup(failTimes: Map<string, number>, opts: { pollMs?: number } = {}) {
  const { consumer, attempts } = counterConsumer(failTimes);
  const h = await createHarness({
    consumers: [consumer],
    bus: { rules: [rule], maxAttempts: 3, baseDelayMs: 1, ...opts },
  });
  const emit = (orderId: string) => h.deps.store.transact([outboxPut('OrderPaid', paid(orderId), h.clock)]);
  const count = async (orderId: string) =>
    (await h.deps.store.get<{ n: number }>({ pk: `COUNT#${orderId}`, sk: 'X' }, true))?.n ?? 0;
  return { h, emit, count, attempts };
}

describe('Class: LocalBus', () => {
  it('delivers each outbox event to its consumer and leaves nothing pending', async () => {
    const { h, emit, count } = await setup(new Map());
    await Promise.all(['o1', 'o2', 'o3'].map(emit));
    await h.drain();
    expect([await count('o1'), await count('o2'), await count('o3')]).toEqual([1, 1, 1]);
    const pending = await h.deps.store.queryAll({ index: 'gsi4', pk: 'OUTBOX#0' });
    expect(pending).toHaveLength(0);
    expect(h.bus.stats.delivered).toBe(3);
  });

  it('delivers what its store commits while running at once, not at the next poll', async () => {
    const { h, emit, count } = await setup(new Map(), { pollMs: 3_600_000 });
    h.bus.start();
    try {
      await Promise.all(['w1', 'w2'].map(emit));
      await vi.waitFor(async () => expect([await count('w1'), await count('w2')]).toEqual([1, 1]), {
        timeout: 20_000,
        interval: 50,
      });
    } finally {
      await h.bus.stop();
    }
    expect(h.bus.stats.delivered).toBe(2);
    for (const shard of [0, 1, 2, 3, 4, 5, 6, 7])
      expect(await h.deps.store.queryAll({ index: 'gsi4', pk: `OUTBOX#${shard}` })).toHaveLength(0);
  });

  it('delivers at start what was left pending before it ran, once', async () => {
    const { h, emit, count } = await setup(new Map(), { pollMs: 3_600_000 });
    await emit('left-1');
    h.bus.start();
    try {
      await vi.waitFor(async () => expect(await count('left-1')).toBe(1), { timeout: 20_000, interval: 50 });
    } finally {
      await h.bus.stop();
    }
    await h.drain();
    expect(await count('left-1')).toBe(1);
    expect(h.bus.stats.delivered).toBe(1);
  });

  it('retries a consumer that fails fewer times than the limit, with one effect', async () => {
    const { h, emit, count, attempts } = await setup(new Map([['o-flaky', 2]]));
    await emit('o-flaky');
    await h.drain();
    expect(attempts.get('o-flaky')).toBe(3);
    expect(await count('o-flaky')).toBe(1);
    const dead = await h.call('GET', '/v1/admin/dead-letters', { token: h.token('a', ['admin']) });
    expect(dead.body.items).toHaveLength(0);
  });

  it('dead-letters an event after the last attempt; redrive delivers it once', async () => {
    const { h, emit, count, attempts } = await setup(new Map([['o-dead', 3]]));
    await emit('o-dead');
    await h.drain();
    expect(attempts.get('o-dead')).toBe(3);
    expect(await count('o-dead')).toBe(0);
    const admin = h.token('admin', ['admin']);
    const list = await h.call('GET', '/v1/admin/dead-letters', { token: admin });
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(1);
    const letter = list.body.items[0];
    expect(letter).toMatchObject({ consumer: 'test-counter', status: 'dead', attempts: 3 });
    expect(letter.error).toContain('failing on purpose');
    expect(letter.event['detail-type']).toBe('OrderPaid');

    const redriven = await h.call('POST', `/v1/admin/dead-letters/${letter.id}/redrive`, { token: admin });
    expect(redriven.status).toBe(200);
    expect(redriven.body.status).toBe('redriven');
    expect(await count('o-dead')).toBe(1);

    // A second redrive is harmless: the consumer already took the event.
    await h.call('POST', `/v1/admin/dead-letters/${letter.id}/redrive`, { token: admin });
    expect(await count('o-dead')).toBe(1);
  });

  it('keeps a dead letter dead when its redrive fails again, counting the attempt', async () => {
    const { h, emit } = await setup(new Map([['o-stuck', 99]]));
    await emit('o-stuck');
    await h.drain();
    const admin = h.token('admin', ['admin']);
    const [letter] = (await h.call('GET', '/v1/admin/dead-letters', { token: admin })).body.items;
    const r = await h.call('POST', `/v1/admin/dead-letters/${letter.id}/redrive`, { token: admin });
    expect(r.body).toMatchObject({ status: 'dead', attempts: 4 });
  });

  it('has no second effect from duplicate deliveries, even concurrent ones', async () => {
    const { h, count } = await setup(new Map());
    const event = buildEvent('OrderPaid', paid('o-dup'), h.clock);
    await Promise.all([h.bus.deliver('test-counter', event), h.bus.deliver('test-counter', event)]);
    await h.bus.deliver('test-counter', event);
    expect(await count('o-dup')).toBe(1);
  });

  it('answers 404 for an unknown dead letter and needs the admin role', async () => {
    const { h } = await setup(new Map());
    const r = await h.call('POST', '/v1/admin/dead-letters/dlq_nope/redrive', { token: h.token('a', ['admin']) });
    expect([r.status, r.body.code]).toEqual([404, 'not_found']);
    const f = await h.call('GET', '/v1/admin/dead-letters', { token: h.token('u', ['user']) });
    expect(f.status).toBe(403);
  });
});
