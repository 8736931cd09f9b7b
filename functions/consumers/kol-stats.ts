import { createDeps } from '#shared/deps';
import { rollOrderStats } from '#shared/domain/kol/roll-order-stats';
import { defineConsumer, lambdaConsumer } from '#shared/events/consumer';
import { loadSecrets } from '#shared/secrets';

/** Rolls attributed orders and commission reversals into the KOL's daily stats, once per order and per refund. */
export const kolStatsConsumer = defineConsumer(
  'kol-stats',
  ['OrderAttributed', 'OrderRefunded'],
  async (event, deps) => {
    await rollOrderStats(deps, 'kol-stats', event.detail);
  },
);

const deps = createDeps({ env: await loadSecrets() });
export const handler = lambdaConsumer(kolStatsConsumer, async () => deps);
