import { describe, expect, it } from 'vitest';
import { MAX_EVENT_LAG, startLocalRuntime } from '../../../infra/local/runtime.ts';
import { dynamoEndpoint } from '../../support/dynamo-endpoint.ts';
import { createHarness, TEST_ENV, webhookHeaders } from '../../support/harness.ts';

describe('The local runtime (npm start) under more writes than its consumers keep up with', () => {
  it('answers the last of 600 concurrent paid webhooks with at most its bound of events left to deliver', async () => {
    // Prepare: a server whose bus delivers one event at a time, far slower than the webhooks come.
    const h = await createHarness();
    const rt = await startLocalRuntime({
      port: 0,
      env: { ...TEST_ENV, TABLE_NAME: h.deps.config.TABLE_NAME },
      dynamoEndpoint: dynamoEndpoint(),
      sweepIntervalMs: 60_000,
      bus: { concurrency: 1 },
    });
    try {
      // Act: 600 paid orders at once, each an OrderPaid event.
      const statuses = await Promise.all(
        Array.from({ length: 600 }, async (_, i) => {
          const body = JSON.stringify({
            orderId: `pace-order-${i}`,
            userId: `pace-buyer-${i}`,
            amount: 1000,
            currency: 'CNY',
            paidAt: new Date().toISOString(),
          });
          const r = await fetch(`${rt.url}/v1/orders/paid`, {
            method: 'POST',
            headers: webhookHeaders(body, Math.floor(Date.now() / 1000)),
            body,
          });
          return r.status;
        }),
      );

      // Assess: all recorded; when the last answer went, the bus was within its bound, so a stop
      // now would leave at most that many events for the next start.
      expect(statuses).toEqual(Array(600).fill(201));
      expect(rt.bus.undelivered).toBeLessThanOrEqual(MAX_EVENT_LAG);
    } finally {
      await rt.stop();
    }
  }, 120_000);
});
