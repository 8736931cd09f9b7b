import { createDeps } from '#shared/deps';
import { reverseCommission } from '#shared/domain/ledger/reverse-commission';
import { defineConsumer, lambdaConsumer } from '#shared/events/consumer';
import { loadSecrets } from '#shared/secrets';

/** OrderRefunded → a commission reversal entry, exactly once per refund (parked if the commission is not there yet). */
export const ledgerOrderRefundedConsumer = defineConsumer(
  'ledger-order-refunded',
  ['OrderRefunded'],
  async (event, deps) => {
    await reverseCommission(deps, event.detail);
  },
);

const deps = createDeps({ env: await loadSecrets() });
export const handler = lambdaConsumer(ledgerOrderRefundedConsumer, async () => deps);
