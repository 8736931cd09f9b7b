import type { Deps } from '#shared/deps';
import type { Consumer } from '#shared/events/consumer';
import { PoisonEventError } from '#shared/events/consumer';
import { recordDeadLetter } from '#shared/events/dead-letters';
import { eventFromOutbox, type OutboxItem } from '#shared/events/outbox';
import { rules as allRules, type Rule } from '#shared/events/rules';
import type { BusEvent } from '#shared/events/schemas';
import { INDEX_SHARDS, outboxKey, outboxShardPk } from '#shared/store/keys';
import { MicroBatcher } from '#shared/store/micro-batch';
import { MAX_TRANSACTION_ITEMS } from '#shared/store/store';
import { within } from '#shared/within';

/** Outbox items read per query while paging through a shard. */
const PAGE_SIZE = 100;
/** How long a delivered item waits for others to share its removal while deliveries are under way. */
const REMOVAL_WINDOW_MS = 250;
/** Delivered items not yet removed, at most (four full removals): past this, new deliveries wait for removals. */
const MAX_UNREMOVED = 400;
/** How long a read waits at most for the events before it to be delivered (see caughtUp). */
const CATCH_UP_MS = 5000;
/** Rounds of catching up: the events taken meanwhile include those the earlier ones led to. */
const CATCH_UP_ROUNDS = 3;

export interface LocalBusOptions {
  /** Attempts per consumer before the event is dead-lettered (EventBridge + Lambda async: 3). */
  maxAttempts?: number;
  /** First retry delay; it doubles each attempt. */
  baseDelayMs?: number;
  /**
   * How often the whole outbox is read while running. Events this process commits are delivered
   * at once without it; the poll finds the rest (left pending by a crash, or written elsewhere).
   */
  pollMs?: number;
  /** How many events are delivered at once. */
  concurrency?: number;
  /** The rules to match (default: every rule of shared/events/rules.ts). */
  rules?: Rule[];
}

/**
 * The local stand-in for the table stream → EventBridge Pipe → bus → rules → consumer Lambdas.
 * It delivers the outbox items of its store's committed transactions as they commit, and reads
 * the pending outbox (the same items the Pipe reads on AWS) at start and every `pollMs`; it
 * matches the same rules and calls the same consumer handlers: at least once, each failing
 * consumer retried with backoff and then dead-lettered. An event leaves the outbox only after
 * every matching consumer has either succeeded or been dead-lettered, so a crash mid-delivery
 * redelivers it.
 */
export class LocalBus {
  private readonly byName: Map<string, Consumer>;
  private readonly opts: Required<LocalBusOptions>;
  private running = false;
  /**
   * The first poll since `start`, until what it found is delivered (it resolves with how many
   * events that was): the outbox as an earlier run left it, a stop's queue or a crash's backlog.
   */
  private startPass: Promise<number> | undefined;
  /** Set while `stop` lets the queue go: nothing new is taken until it returns. */
  private stopping = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private unwatch: (() => void) | undefined;
  /** Events waiting for a delivery slot, in the order they were committed or found. */
  private readonly queue: OutboxItem[] = [];
  /**
   * Events queued or being delivered, each with the number it was taken under: a poll that sees
   * them again leaves them alone. A Map keeps its insertion order, so the first is the oldest.
   */
  private readonly taken = new Map<string, number>();
  private takenCount = 0;
  /** Waiters for every event taken up to `through` to be delivered (each leaves on its time limit too). */
  private readonly deliveryWaiters = new Set<{ through: number; done: () => void }>();
  private active = 0;
  private idleWaiters: (() => void)[] = [];
  private roomWaiters: (() => void)[] = [];
  /** Waiters for the events still to be delivered to fall to `max` (see paced). */
  private readonly paceWaiters = new Set<{ max: number; done: () => void }>();
  /** Events delivered recently, so a poll racing their removal does not deliver them twice in a row. */
  private readonly recent = new Set<string>();
  /** Delivered events whose outbox items are still to be removed (waiting for a batch, or in one). */
  private readonly unremoved = new Set<string>();
  /**
   * Removes delivered items in transactions of up to 100 deletes, gathered over at most
   * `REMOVAL_WINDOW_MS` (at most 4 in flight), which the store may commit together with others.
   * Not BatchWriteItem: DynamoDB Local on disk commits each item of a batch on its own, and under
   * a backlog those requests took seconds each, which held every delivery back.
   */
  private readonly remover: MicroBatcher<{
    key: { pk: string; sk: string };
    ok: () => void;
    fail: (e: unknown) => void;
  }>;
  readonly stats = { delivered: 0, retries: 0, deadLettered: 0 };

  constructor(
    private readonly deps: Deps,
    consumers: Consumer[],
    opts: LocalBusOptions = {},
  ) {
    this.byName = new Map(consumers.map((c) => [c.name, c]));
    this.remover = new MicroBatcher(MAX_TRANSACTION_ITEMS, REMOVAL_WINDOW_MS, async (batch) => {
      await deps.store.transact(batch.map(({ key }) => ({ Delete: { Key: key } })));
      for (const b of batch) b.ok();
    });
    this.opts = { maxAttempts: 3, baseDelayMs: 100, pollMs: 1000, concurrency: 32, rules: allRules, ...opts };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.unwatch = this.deps.store.watchOutbox((item) => this.enqueue(item as unknown as OutboxItem));
    let startPassDone!: (found: number) => void;
    const startPass = new Promise<number>((r) => {
      startPassDone = (found) => {
        if (this.startPass === startPass) this.startPass = undefined;
        r(found);
      };
    });
    this.startPass = startPass;
    this.loop = (async () => {
      while (this.running) {
        try {
          // The first pass is done once what it took is delivered (not when the bus is next idle).
          await this.pollOnce(
            () => this.running,
            (found) => void this.deliveredThrough(this.takenCount).then(() => startPassDone(found)),
          );
        } catch (e) {
          if (this.running) this.deps.log.error('bus poll failed', { error: e as Error });
        }
        startPassDone(0); // a pass that failed (or stopped) holds no read back
        if (this.running)
          await new Promise<void>((r) => {
            const t = setTimeout(r, this.opts.pollMs);
            this.wake = () => {
              clearTimeout(t);
              r();
            };
          });
      }
    })();
  }

  /**
   * Stops taking new events and waits for the deliveries under way. Events queued but not started
   * are let go: they stay in the outbox, and the next start delivers them (its first poll), so a
   * stop under load waits for at most `concurrency` deliveries, not for the backlog.
   */
  async stop(): Promise<void> {
    this.running = false;
    this.stopping = true;
    this.releasePaced();
    this.unwatch?.();
    this.wake?.();
    for (const item of this.queue.splice(0)) this.taken.delete(item.eventId);
    this.settled();
    try {
      await this.loop;
      await this.idle();
    } finally {
      this.stopping = false;
    }
  }

  /** Events taken and not yet delivered: queued, or under way. */
  get undelivered(): number {
    return this.taken.size;
  }

  /**
   * Resolves once at most `max` of the events taken are still to be delivered (queued or under
   * way); at once while the bus is not running. The local server holds the answers of writes on
   * it, so a client sending faster than the consumers keep up with is slowed to their pace
   * instead of leaving a backlog that grows without bound (and that a restart must deliver first).
   */
  paced(max: number): Promise<void> {
    if (!this.running || this.undelivered <= max) return Promise.resolve();
    return new Promise((done) => this.paceWaiters.add({ max, done }));
  }

  /** Lets every answer held by `paced` go (a stop is under way: nothing should wait for the bus). */
  releasePaced(): void {
    for (const w of this.paceWaiters) w.done();
    this.paceWaiters.clear();
  }

  /**
   * Waits, at most `maxMs`, until the events the outbox held when the bus started are delivered;
   * answers how many there were, or undefined when `maxMs` passed first (they are still on their way).
   */
  async startBacklog(maxMs: number): Promise<number | undefined> {
    return this.startPass ? within(this.startPass, maxMs) : 0;
  }

  /** Delivers everything pending, until the outbox is empty (tests and benchmarks). */
  async drain(maxRounds = 1000): Promise<void> {
    for (let i = 0; i < maxRounds; i++) if ((await this.pollOnce()) === 0) return;
  }

  /**
   * One pass over every outbox shard, to its end, waiting for what it found to be delivered;
   * returns how many events it found. The shards are read a page at a time, in turn, and the next
   * page is read as soon as fewer than `concurrency` events wait for a slot, so a backlog is
   * delivered at full concurrency without being held in memory at once, with no pause between
   * pages. `keepGoing` false stops the pass after the current page (a stopping bus). `taken` is
   * called with the count once every page is read and its events taken.
   */
  async pollOnce(keepGoing: () => boolean = () => true, taken?: (found: number) => void): Promise<number> {
    let found = 0;
    const cursors = new Map<number, string | null>(Array.from({ length: INDEX_SHARDS }, (_, shard) => [shard, null]));
    while (cursors.size > 0 && keepGoing()) {
      for (const [shard, cursor] of cursors) {
        await this.room();
        if (!keepGoing()) break;
        const page = await this.deps.store.query<OutboxItem>({
          index: 'gsi4',
          pk: outboxShardPk(shard),
          limit: PAGE_SIZE,
          cursor,
        });
        for (const item of page.items) if (this.enqueue(item)) found++;
        if (page.nextCursor) cursors.set(shard, page.nextCursor);
        else cursors.delete(shard);
      }
    }
    taken?.(found);
    await this.idle();
    return found;
  }

  /** Resolves when fewer than `concurrency` events wait for a delivery slot (room for another page). */
  private room(): Promise<void> {
    if (this.queue.length < this.opts.concurrency) return Promise.resolve();
    return new Promise((r) => this.roomWaiters.push(r));
  }

  /** Takes an event for delivery unless it is already taken or was just delivered. */
  private enqueue(item: OutboxItem): boolean {
    const id = item.eventId;
    if (this.stopping || this.taken.has(id) || this.unremoved.has(id) || this.recent.has(id)) return false;
    this.taken.set(id, ++this.takenCount);
    this.queue.push(item);
    this.pump();
    return true;
  }

  /**
   * Starts queued deliveries while fewer than `concurrency` are in flight and fewer than
   * `MAX_UNREMOVED` delivered items wait for their removal.
   */
  private pump(): void {
    while (this.active < this.opts.concurrency && this.unremoved.size < MAX_UNREMOVED && this.queue.length > 0) {
      const item = this.queue.shift()!;
      this.active++;
      void this.dispatch(item)
        .catch((e) => this.deps.log.error('event left pending', { eventId: item.eventId, error: e as Error }))
        .finally(() => {
          this.active--;
          this.taken.delete(item.eventId);
          // Nothing else being delivered: no other removal is coming soon to share a batch with.
          if (this.active === 0) this.remover.flush();
          this.pump();
          this.settled();
        });
    }
  }

  /**
   * Resolves once the events taken before the call are delivered (their consumers have run or
   * dead-lettered them), then those taken meanwhile, which include the events their consumers
   * committed, for up to CATCH_UP_ROUNDS rounds or `maxMs`. The local server runs reads behind it,
   * so a client reading right after it acted sees what its events lead to (rewards, stats), as it
   * would a moment later on AWS.
   */
  async caughtUp(maxMs = CATCH_UP_MS): Promise<void> {
    const deadline = Date.now() + maxMs;
    // What an earlier run left in the outbox (a stop lets its queue go) comes before anything asked now.
    if (this.startPass && (await within(this.startPass, maxMs)) === undefined) return;
    for (let round = 0, through = this.takenCount; this.running && round < CATCH_UP_ROUNDS; round++) {
      if (this.oldestTaken() <= through && !(await this.deliveredThrough(through, deadline - Date.now()))) return;
      if (this.takenCount === through) return;
      through = this.takenCount;
    }
  }

  /**
   * True once every event taken up to `through` is delivered (or let go by a stop); false when
   * `ms` pass first (the waiter leaves then).
   */
  private deliveredThrough(through: number, ms = Number.POSITIVE_INFINITY): Promise<boolean> {
    if (ms <= 0) return Promise.resolve(false);
    if (this.oldestTaken() > through) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = {
        through,
        done: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      const timer = Number.isFinite(ms)
        ? setTimeout(() => {
            this.deliveryWaiters.delete(waiter);
            resolve(false);
          }, ms)
        : undefined;
      this.deliveryWaiters.add(waiter);
    });
  }

  /** The number the oldest event still queued or being delivered was taken under (Infinity: none). */
  private oldestTaken(): number {
    return this.taken.values().next().value ?? Number.POSITIVE_INFINITY;
  }

  /** Wakes the waiters for room in the queue, for deliveries and for idleness, as they apply. */
  private settled(): void {
    if (this.queue.length < this.opts.concurrency) for (const go of this.roomWaiters.splice(0)) go();
    if (this.deliveryWaiters.size > 0) {
      const oldest = this.oldestTaken();
      for (const w of this.deliveryWaiters)
        if (w.through < oldest) {
          this.deliveryWaiters.delete(w);
          w.done();
        }
    }
    if (this.paceWaiters.size > 0)
      for (const w of this.paceWaiters)
        if (this.undelivered <= w.max) {
          this.paceWaiters.delete(w);
          w.done();
        }
    if (this.isIdle()) for (const done of this.idleWaiters.splice(0)) done();
  }

  private isIdle(): boolean {
    return this.active === 0 && this.queue.length === 0 && this.unremoved.size === 0;
  }

  /** Resolves when nothing is queued, in flight or waiting to leave the outbox. */
  private idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private async dispatch(item: OutboxItem): Promise<void> {
    const event = this.readEvent(item);
    if (event) {
      const matching = this.opts.rules.filter((r) => (r.detailTypes as string[]).includes(event['detail-type']));
      // With LOG_LEVEL=DEBUG every event shows, those no consumer takes too.
      if (this.deps.log.getLevelName() === 'DEBUG')
        this.deps.log.debug('event', { event, consumers: matching.map((r) => r.consumer) });
      await Promise.all(matching.map((rule) => this.deliver(rule.consumer, event)));
    }
    // Delivered: the item leaves the outbox (on AWS the stream has it and TTL removes it). Its removal
    // is batched with others' and does not hold a delivery slot; until it is done, polls leave it alone.
    const eventId = item.eventId;
    this.unremoved.add(eventId);
    void new Promise<void>((ok, fail) => this.remover.add({ key: outboxKey(eventId), ok, fail }))
      .then(
        () => {
          this.recent.add(eventId);
          if (this.recent.size > 10_000) this.recent.clear();
          this.stats.delivered++;
        },
        // Still in the outbox: a later poll delivers it again, and its consumers take it once.
        (e) => this.deps.log.error('delivered event left pending', { eventId, error: e as Error }),
      )
      .finally(() => {
        this.unremoved.delete(eventId);
        this.pump();
        this.settled();
      });
  }

  /**
   * The event an outbox item carries, or undefined (logged with its key) when the item is too
   * malformed to read: it can never be delivered, so it leaves the outbox instead of being taken
   * again by every poll, as the outbox redrive skips it on AWS.
   */
  private readEvent(item: OutboxItem): BusEvent | undefined {
    try {
      return eventFromOutbox(item);
    } catch (e) {
      this.deps.log.error('outbox item too malformed to deliver', {
        eventId: item.eventId,
        detailType: item.detailType,
        detail: String(item.detail).slice(0, 1000),
        error: e as Error,
      });
      return undefined;
    }
  }

  /** Delivers to one consumer with retries; after the last attempt the event is dead-lettered. */
  async deliver(consumerName: string, event: BusEvent): Promise<void> {
    const consumer = this.byName.get(consumerName);
    let lastError = consumer ? '' : `no consumer named ${consumerName}`;
    let attempts = 0;
    if (consumer) {
      while (attempts < this.opts.maxAttempts) {
        attempts++;
        try {
          await consumer.handle(event, this.deps);
          return;
        } catch (e) {
          lastError = (e as Error).message ?? String(e);
          if (e instanceof PoisonEventError) break;
          if (attempts < this.opts.maxAttempts) {
            this.stats.retries++;
            await new Promise((r) => setTimeout(r, this.opts.baseDelayMs * 2 ** (attempts - 1)));
          }
        }
      }
    }
    this.stats.deadLettered++;
    this.deps.log.warn('event dead-lettered', { consumer: consumerName, eventId: event.id, error: lastError });
    await recordDeadLetter(this.deps, { consumer: consumerName, event, error: lastError, attempts });
  }

  /** One redrive: a single attempt set, throwing if the consumer fails again (the dead letter stays). */
  redeliver = async (consumerName: string, event: BusEvent): Promise<void> => {
    const consumer = this.byName.get(consumerName);
    if (!consumer) throw new Error(`no consumer named ${consumerName}`);
    await consumer.handle(event, this.deps);
  };
}
