import type { Deps } from '#shared/deps';
import type { Consumer } from '#shared/events/consumer';
import { PoisonEventError } from '#shared/events/consumer';
import { recordDeadLetter } from '#shared/events/dead-letters';
import { eventFromOutbox, type OutboxItem } from '#shared/events/outbox';
import { rules as allRules, type Rule } from '#shared/events/rules';
import type { BusEvent } from '#shared/events/schemas';
import { INDEX_SHARDS, outboxKey, outboxShardPk } from '#shared/store/keys';

export interface LocalBusOptions {
  /** Attempts per consumer before the event is dead-lettered (EventBridge + Lambda async: 3). */
  maxAttempts?: number;
  /** First retry delay; it doubles each attempt. */
  baseDelayMs?: number;
  /** How often the outbox is polled when idle. */
  pollMs?: number;
  /** How many events are delivered at once. */
  concurrency?: number;
  /** The rules to match (default: every rule of shared/events/rules.ts). */
  rules?: Rule[];
}

/**
 * The local stand-in for the table stream → EventBridge Pipe → bus → rules → consumer Lambdas.
 * It reads pending outbox items (the same items the Pipe reads on AWS), matches the same rules,
 * and calls the same consumer handlers: at least once, each failing consumer retried with
 * backoff and then dead-lettered. An event leaves the pending index only after every matching
 * consumer has either succeeded or been dead-lettered, so a crash mid-delivery redelivers it.
 */
export class LocalBus {
  private readonly byName: Map<string, Consumer>;
  private readonly opts: Required<LocalBusOptions>;
  private running = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /** Events delivered recently, so a stale index read does not deliver them twice in a row. */
  private readonly recent = new Set<string>();
  readonly stats = { delivered: 0, retries: 0, deadLettered: 0 };

  constructor(
    private readonly deps: Deps,
    consumers: Consumer[],
    opts: LocalBusOptions = {},
  ) {
    this.byName = new Map(consumers.map((c) => [c.name, c]));
    this.opts = { maxAttempts: 3, baseDelayMs: 100, pollMs: 50, concurrency: 32, rules: allRules, ...opts };
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = (async () => {
      while (this.running) {
        let n = 0;
        try {
          n = await this.pollOnce();
        } catch (e) {
          if (this.running) this.deps.log.error('bus poll failed', { error: e as Error });
        }
        if (n === 0 && this.running)
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

  /** Stops polling and waits for deliveries in flight. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  /** Delivers everything pending, until the outbox is empty (tests and benchmarks). */
  async drain(maxRounds = 1000): Promise<void> {
    for (let i = 0; i < maxRounds; i++) if ((await this.pollOnce()) === 0) return;
  }

  /** One pass over every outbox shard; returns how many events were delivered. */
  async pollOnce(): Promise<number> {
    let total = 0;
    for (let shard = 0; shard < INDEX_SHARDS; shard++) {
      const page = await this.deps.store.query<OutboxItem>({ index: 'gsi4', pk: outboxShardPk(shard), limit: 100 });
      const fresh = page.items.filter((i) => !this.recent.has(i.eventId));
      for (let i = 0; i < fresh.length; i += this.opts.concurrency) {
        await Promise.all(fresh.slice(i, i + this.opts.concurrency).map((item) => this.dispatch(item)));
      }
      total += fresh.length;
    }
    return total;
  }

  private async dispatch(item: OutboxItem): Promise<void> {
    const event = eventFromOutbox(item);
    const matching = this.opts.rules.filter((r) => (r.detailTypes as string[]).includes(event['detail-type']));
    await Promise.all(matching.map((rule) => this.deliver(rule.consumer, event)));
    await this.deps.store.update({
      key: outboxKey(item.eventId),
      update: 'REMOVE gsi4pk, gsi4sk SET deliveredAt = :now',
      values: { ':now': new Date(this.deps.clock.now()).toISOString() },
    });
    this.recent.add(item.eventId);
    if (this.recent.size > 10_000) this.recent.clear();
    this.stats.delivered++;
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
