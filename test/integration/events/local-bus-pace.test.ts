import { describe, expect, it } from 'vitest';
import { defineConsumer } from '#shared/events/consumer';
import { outboxPut } from '#shared/events/outbox';
import type { Rule } from '#shared/events/rules';
import { deferred } from '../../support/deferred.ts';
import { createHarness } from '../../support/harness.ts';
import { paid } from './support.ts';

const rule: Rule = { consumer: 'test-gated', detailTypes: ['OrderPaid'], description: 'waits on a gate' };

/** A bus of two delivery slots whose consumer waits on a gate, with `n` events committed. */
async function gatedBus(n: number) {
  const gate = deferred();
  const consumer = defineConsumer('test-gated', ['OrderPaid'], () => gate.promise);
  const h = await createHarness({ consumers: [consumer], bus: { rules: [rule], pollMs: 3_600_000, concurrency: 2 } });
  h.bus.start();
  for (let i = 0; i < n; i++) await h.deps.store.transact([outboxPut('OrderPaid', paid(`pace-${i}`), h.clock)]);
  return { h, open: gate.resolve };
}

/** Whether `p` has settled after the event loop has had a few turns. */
async function settledSoon(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(() => {
    done = true;
  });
  await new Promise((r) => setTimeout(r, 50));
  return done;
}

describe('Class: LocalBus, pacing writes', () => {
  it('holds a paced answer while more events than its bound wait for delivery, and lets it go once they are within it', async () => {
    const { h, open } = await gatedBus(10);
    try {
      expect(h.bus.undelivered).toBe(10);
      expect(await settledSoon(h.bus.paced(10))).toBe(true);
      const held = h.bus.paced(3);
      expect(await settledSoon(held)).toBe(false);

      open();
      await held;
      expect(h.bus.undelivered).toBeLessThanOrEqual(3);
    } finally {
      open();
      await h.bus.stop();
    }
  });

  it('lets every held answer go when it stops, and holds none while stopped', async () => {
    const { h, open } = await gatedBus(6);
    let stopping: Promise<void> | undefined;
    try {
      const held = h.bus.paced(0);
      expect(await settledSoon(held)).toBe(false);
      stopping = h.bus.stop();
      expect(await settledSoon(held)).toBe(true);
      expect(await settledSoon(h.bus.paced(0))).toBe(true);
    } finally {
      open();
      await stopping;
    }
  });
});
