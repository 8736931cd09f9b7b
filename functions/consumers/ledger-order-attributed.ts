import { createDeps } from '#shared/deps';
import { accrueCommission } from '#shared/domain/ledger/accrue-commission';
import { defineConsumer, lambdaConsumer } from '#shared/events/consumer';
import { loadSecrets } from '#shared/secrets';

/** OrderAttributed → the KOL's commission entry (with any refund that arrived first), exactly once per order. */
export const ledgerOrderAttributedConsumer = defineConsumer(
  'ledger-order-attributed',
  ['OrderAttributed'],
  async (event, deps) => {
    await accrueCommission(deps, event.detail);
  },
);

const deps = createDeps({ env: await loadSecrets() });
export const handler = lambdaConsumer(ledgerOrderAttributedConsumer, async () => deps);
