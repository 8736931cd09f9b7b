import { createDeps } from '#shared/deps';
import { type ActivityEvent, recordActivity } from '#shared/domain/ledger/record-activity';
import { defineConsumer, lambdaConsumer } from '#shared/events/consumer';
import { loadSecrets } from '#shared/secrets';

/** Group-buy and bargain outcomes → finance activity records (no ledger entries), once per event. */
export const financeActivityConsumer = defineConsumer(
  'finance-activity',
  ['GroupBuyFormed', 'GroupBuyFailed', 'BargainCompleted', 'BargainPurchased'],
  async (event, deps) => {
    await recordActivity(deps, event as ActivityEvent);
  },
);

const deps = createDeps({ env: await loadSecrets() });
export const handler = lambdaConsumer(financeActivityConsumer, async () => deps);
