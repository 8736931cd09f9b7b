import { describe, expect, it, vi } from 'vitest';
import { consumers as allConsumers } from '#functions/consumers/index';
import { type Clock, iso } from '#shared/clock';
import type { Deps } from '#shared/deps';
import { entryIdFor } from '#shared/domain/ledger/rules';
import { type Consumer, consumedOnce, defineConsumer, runOnce } from '#shared/events/consumer';
import { buildEvent, type OutboxItem, outboxPut } from '#shared/events/outbox';
import type { Rule } from '#shared/events/rules';
import { financeActivityKey, INDEX_SHARDS, outboxKey, outboxPendingIndex, outboxShardPk } from '#shared/store/keys';
import { findBalances, findEntries } from '#shared/store/ledger';
import type { Store, TxItem } from '#shared/store/store';
import { deferred } from '../../support/deferred.ts';
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
      consumedOnce('test-counter', event.detail.eventId, iso(deps.clock.now())),
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

  it('takes an outbox item too malformed to read out of the outbox once, instead of at every poll', async () => {
    const { h, emit, count } = await setup(new Map());
    await emit('o-beside');
    const eventId = 'evt_01MALFORMEDMALFORMEDMALFOR';
    await h.deps.store.put({
      ...outboxKey(eventId),
      ...outboxPendingIndex(eventId),
      entity: 'outbox',
      eventId,
      detailType: 'OrderPaid',
      detail: '{"orderId": "o-cut", ',
      occurredAt: '2026-11-24T10:00:00.000Z',
    });
    let polls = 0;
    const poll = h.bus.pollOnce.bind(h.bus);
    h.bus.pollOnce = (keepGoing) => {
      polls++;
      return poll(keepGoing);
    };
    await h.drain();
    expect(polls).toBeLessThanOrEqual(3);
    expect(await count('o-beside')).toBe(1);
    expect(await h.deps.store.get(outboxKey(eventId), true)).toBeUndefined();
  });

  it('has no second effect from duplicate deliveries, even concurrent ones', async () => {
    const { h, count } = await setup(new Map());
    const event = buildEvent('OrderPaid', paid('o-dup'), h.clock);
    await Promise.all([h.bus.deliver('test-counter', event), h.bus.deliver('test-counter', event)]);
    await h.bus.deliver('test-counter', event);
    expect(await count('o-dup')).toBe(1);
  });

  it('lets a read catch up with the events committed before it, and with those their consumers commit', async () => {
    const { promise: gate, resolve: open } = deferred();
    const seen: string[] = [];
    const consumer = defineConsumer('test-counter', ['OrderPaid'], async (event, deps: Deps) => {
      await gate;
      seen.push(event.detail.orderId);
      if (event.detail.orderId === 'parent')
        await deps.store.transact([outboxPut('OrderPaid', paid('child'), deps.clock)]);
    });
    const h = await createHarness({ consumers: [consumer], bus: { rules: [rule], pollMs: 3_600_000 } });
    h.bus.start();
    try {
      await h.deps.store.transact([outboxPut('OrderPaid', paid('parent'), h.clock)]);
      let caughtUp = false;
      const read = h.bus.caughtUp(60_000).then(() => {
        caughtUp = true;
      });
      await new Promise((r) => setTimeout(r, 100));
      expect([caughtUp, seen]).toEqual([false, []]);
      open();
      await read;
      expect(seen).toEqual(['parent', 'child']);
      // Nothing under way: at once.
      await h.bus.caughtUp(60_000);
    } finally {
      await h.bus.stop();
    }
  });

  it('lets a read go after its time limit when a delivery takes longer', async () => {
    const { promise: gate, resolve: open } = deferred();
    const consumer = defineConsumer('test-counter', ['OrderPaid'], () => gate);
    const h = await createHarness({ consumers: [consumer], bus: { rules: [rule], pollMs: 3_600_000 } });
    h.bus.start();
    try {
      await h.deps.store.transact([outboxPut('OrderPaid', paid('slow'), h.clock)]);
      await h.bus.caughtUp(50);
      expect(h.bus.stats.delivered).toBe(0);
      // Reads that gave up leave nothing behind while the delivery still hangs (the one waiter
      // left, if any, is the bus's own, for the end of its first pass).
      for (let i = 0; i < 200; i++) await h.bus.caughtUp(2);
      expect((h.bus as unknown as { deliveryWaiters: Set<unknown> }).deliveryWaiters.size).toBeLessThanOrEqual(1);
    } finally {
      open();
      await h.bus.stop();
    }
  });

  it('waits at a stop only for the deliveries under way; the queued events stay pending, and a read after the restart waits for them', async () => {
    // Prepare: two delivery slots, each held by a consumer waiting on a gate.
    const { promise: gate, resolve: open } = deferred();
    const calls = new Map<string, number>();
    const consumer = defineConsumer('test-counter', ['OrderPaid'], async (event) => {
      calls.set(event.detail.orderId, (calls.get(event.detail.orderId) ?? 0) + 1);
      await gate;
    });
    const h = await createHarness({
      consumers: [consumer],
      bus: { rules: [rule], pollMs: 3_600_000, concurrency: 2 },
    });
    const orders = Array.from({ length: 10 }, (_, i) => `q-${i}`);
    h.bus.start();
    let stopped = false;
    let stopping: Promise<void> | undefined;
    try {
      for (const o of orders) await h.deps.store.transact([outboxPut('OrderPaid', paid(o), h.clock)]);
      await vi.waitFor(() => expect(calls.size).toBe(2), { timeout: 20_000, interval: 10 });

      // Act: stop while two are under way and eight are queued, then let the two finish.
      stopping = h.bus.stop().then(() => {
        stopped = true;
      });
      await new Promise((r) => setTimeout(r, 50));
      expect(stopped).toBe(false);
    } finally {
      open();
      await stopping;
    }

    // Assess: only the two under way were delivered; the rest wait in the outbox. After a restart a
    // read waits for them (they were committed before it), and each is delivered once.
    expect([...calls.values()]).toEqual([1, 1]);
    expect((await pendingPerShard(h.deps.store)).reduce((a, b) => a + b, 0)).toBe(8);
    h.bus.start();
    try {
      await h.bus.caughtUp(20_000);
      expect(calls.size).toBe(10);
      await vi.waitFor(() => expect(h.bus.stats.delivered).toBe(10), { timeout: 20_000, interval: 10 });
    } finally {
      await h.bus.stop();
    }
    expect(orders.map((o) => calls.get(o))).toEqual(Array(10).fill(1));
    expect(await pendingPerShard(h.deps.store)).toEqual(Array(INDEX_SHARDS).fill(0));
  });

  it('answers 404 for an unknown dead letter and needs the admin role', async () => {
    const { h } = await setup(new Map());
    const r = await h.call('POST', '/v1/admin/dead-letters/dlq_nope/redrive', { token: h.token('a', ['admin']) });
    expect([r.status, r.body.code]).toEqual([404, 'not_found']);
    const f = await h.call('GET', '/v1/admin/dead-letters', { token: h.token('u', ['user']) });
    expect(f.status).toBe(403);
  });
});

/** How many outbox items each shard holds. */
async function pendingPerShard(store: Store): Promise<number[]> {
  const counts: number[] = [];
  for (let shard = 0; shard < INDEX_SHARDS; shard++)
    counts.push((await store.queryAll({ index: 'gsi4', pk: outboxShardPk(shard) })).length);
  return counts;
}

/** Writes outbox items through the outbox writer, 25 to a transaction, as producers do (no bus watching). */
async function writeBacklog(store: Store, puts: TxItem[]): Promise<string[]> {
  for (let i = 0; i < puts.length; i += 25) await store.transact(puts.slice(i, i + 25));
  return puts.map((p) => ((p as { Put: { Item: unknown } }).Put.Item as OutboxItem).eventId);
}

/** A backlog of five event types: commissions (ledger + KOL stats), invites (ledger), finance activity, and events no rule matches. */
function mixedBacklog(clock: Clock, n: number) {
  const puts: TxItem[] = [];
  const commission = new Map<string, number>();
  const inviters = new Map<string, number>();
  const entryIds: string[] = [];
  const activityIndexes: number[] = [];
  for (let i = 0; i < n; i++) {
    const kind = i % 10;
    if (kind < 2) {
      const kolId = `kol-${i % 7}`;
      const orderId = `ord-${i}`;
      puts.push(
        outboxPut(
          'OrderAttributed',
          {
            orderId,
            userId: `buyer-${i}`,
            amount: 10_000,
            currency: 'CNY',
            paidAt: new Date(clock.now()).toISOString(),
            campaignId: 'cmp_commission',
            linkCode: 'abcd2345',
            kolId,
            rateBps: 1000,
            commission: 1000 + i,
            lockSeconds: 3600,
            minPayout: 100,
            held: false,
          },
          clock,
        ),
      );
      commission.set(kolId, (commission.get(kolId) ?? 0) + 1000 + i);
      entryIds.push(entryIdFor('order', orderId, kolId, 'commission'));
    } else if (kind === 2) {
      const inviterId = `inviter-${i % 5}`;
      puts.push(
        outboxPut(
          'InviteQualified',
          {
            inviteId: `inv-${i}`,
            campaignId: 'cmp_invite',
            inviterId,
            inviteeId: `invitee-${i}`,
            rewarded: true,
            held: false,
            inviterReward: { asset: 'cash', amount: 500 },
            inviteeReward: { asset: 'points', amount: 100 },
            lockSeconds: 0,
          },
          clock,
        ),
      );
      inviters.set(inviterId, (inviters.get(inviterId) ?? 0) + 500);
      entryIds.push(entryIdFor('invite', `inv-${i}`, inviterId, 'invite_inviter'));
      entryIds.push(entryIdFor('invite', `inv-${i}`, `invitee-${i}`, 'invite_invitee'));
    } else if (kind < 5) {
      activityIndexes.push(puts.length);
      puts.push(
        kind === 3
          ? outboxPut(
              'BargainCompleted',
              {
                chainId: `chain-${i}`,
                campaignId: 'cmp_bargain',
                initiatorId: `initiator-${i}`,
                sku: 'sku-1',
                price: 500,
                entitlementId: `ent-${i}`,
              },
              clock,
            )
          : outboxPut(
              'GroupBuyFailed',
              { groupId: `grp-${i}`, campaignId: 'cmp_group', leaderId: `leader-${i}`, reason: 'expired', refunds: [] },
              clock,
            ),
      );
    } else {
      puts.push(
        outboxPut(
          'BargainStarted',
          {
            chainId: `chain-${i}`,
            campaignId: 'cmp_bargain',
            initiatorId: `initiator-${i}`,
            sku: 'sku-1',
            originalPrice: 2000,
            floorPrice: 500,
            helpersRequired: 3,
            expiresAt: new Date(clock.now() + 3_600_000).toISOString(),
          },
          clock,
        ),
      );
    }
  }
  return { puts, commission, inviters, entryIds, activityIndexes };
}

/** Every consumer, counting the deliveries each event gets. */
function countingConsumers(calls: Map<string, number>): Consumer[] {
  return allConsumers.map((c) => ({
    ...c,
    async handle(event, deps) {
      calls.set(event.id, (calls.get(event.id) ?? 0) + 1);
      await c.handle(event, deps);
    },
  }));
}

describe('Class: LocalBus, a backlog left pending', () => {
  it('delivers over a thousand pending events of several types on every shard once each in effect and empties the outbox', async () => {
    // Prepare: a backlog written while no bus ran, more than a page (100) on every shard.
    const calls = new Map<string, number>();
    const h = await createHarness({ consumers: countingConsumers(calls), bus: { pollMs: 3_600_000 } });
    const total = 1_200;
    const backlog = mixedBacklog(h.clock, total);
    const eventIds = await writeBacklog(h.deps.store, backlog.puts);
    const before = await pendingPerShard(h.deps.store);
    expect(before.reduce((a, b) => a + b, 0)).toBe(total);
    for (const n of before) expect(n).toBeGreaterThan(100);

    // Act: the bus starts (as after a restart) and finds the backlog in its first pass.
    h.bus.start();
    try {
      await vi.waitFor(() => expect(h.bus.stats.delivered).toBe(total), { timeout: 280_000, interval: 200 });
    } finally {
      await h.bus.stop();
    }

    // Assess: nothing pending, nothing dead-lettered, every effect once.
    expect(await pendingPerShard(h.deps.store)).toEqual(Array(INDEX_SHARDS).fill(0));
    expect(h.bus.stats).toMatchObject({ delivered: total, deadLettered: 0 });
    const consumed = eventIds.filter((_, i) => i % 10 < 5);
    for (const id of consumed) expect(calls.get(id) ?? 0, id).toBeGreaterThanOrEqual(1);
    expect((await findEntries(h.deps.store, backlog.entryIds)).length).toBe(backlog.entryIds.length);
    for (const [kolId, locked] of backlog.commission)
      expect(await findBalances(h.deps.store, kolId)).toEqual([expect.objectContaining({ asset: 'cash', locked })]);
    for (const [inviterId, available] of backlog.inviters)
      expect(await findBalances(h.deps.store, inviterId)).toEqual([
        expect.objectContaining({ asset: 'cash', available }),
      ]);
    const activity = await h.deps.store.batchGet(
      backlog.activityIndexes.map((i) => financeActivityKey(eventIds[i]!)),
      true,
    );
    expect(activity).toHaveLength(backlog.activityIndexes.length);
    const dead = await h.call('GET', '/v1/admin/dead-letters', { token: h.token('a', ['admin']) });
    expect(dead.body.items).toHaveLength(0);
  }, 300_000);

  it('stopped mid-backlog, leaves each event delivered once or still pending; a restart delivers the rest once', async () => {
    // Prepare: a consumer that only counts its deliveries, so the backlog moves fast.
    const calls = new Map<string, number>();
    const counter = defineConsumer('test-counter', ['OrderPaid'], async (event) => {
      calls.set(event.detail.orderId, (calls.get(event.detail.orderId) ?? 0) + 1);
    });
    const h = await createHarness({ consumers: [counter], bus: { rules: [rule], pollMs: 3_600_000 } });
    const total = 1_000;
    const orders = Array.from({ length: total }, (_, i) => `b-${i}`);
    await writeBacklog(
      h.deps.store,
      orders.map((o) => outboxPut('OrderPaid', paid(o), h.clock)),
    );

    // Act: stop once a few are delivered (far fewer than a stop can leave taken), then start again.
    h.bus.start();
    try {
      await vi.waitFor(() => expect(h.bus.stats.delivered).toBeGreaterThanOrEqual(20), {
        timeout: 120_000,
        interval: 10,
      });
    } finally {
      await h.bus.stop();
    }
    const leftAfterStop = (await pendingPerShard(h.deps.store)).reduce((a, b) => a + b, 0);
    const deliveredBeforeRestart = h.bus.stats.delivered;
    const calledBeforeRestart = calls.size;
    h.bus.start();
    try {
      await vi.waitFor(() => expect(h.bus.stats.delivered).toBe(total), { timeout: 200_000, interval: 100 });
    } finally {
      await h.bus.stop();
    }

    // Assess: a stop waits for what it took, so nothing is half done and nothing comes twice.
    expect(leftAfterStop).toBeGreaterThan(0);
    expect(deliveredBeforeRestart + leftAfterStop).toBe(total);
    expect(calledBeforeRestart).toBe(deliveredBeforeRestart);
    expect(await pendingPerShard(h.deps.store)).toEqual(Array(INDEX_SHARDS).fill(0));
    expect(orders.filter((o) => calls.get(o) !== 1)).toEqual([]);
  }, 300_000);
});
