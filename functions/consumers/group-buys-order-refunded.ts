import { createDeps } from '#shared/deps';
import { failGroupOnLeaderRefund } from '#shared/domain/group-buys/fail-group-on-leader-refund';
import { defineConsumer, lambdaConsumer } from '#shared/events/consumer';
import { loadSecrets } from '#shared/secrets';

/** Fails an open group whose leader's order was fully refunded before it formed (GroupBuyFailed, `leader_refunded`). */
export const groupBuysOrderRefundedConsumer = defineConsumer(
  'group-buys-order-refunded',
  ['OrderRefunded'],
  async (event, deps) => {
    const { orderId, orderAmount, refundedTotal } = event.detail;
    await failGroupOnLeaderRefund(deps, { orderId, orderAmount, refundedTotal });
  },
);

const deps = createDeps({ env: await loadSecrets() });

export const handler = lambdaConsumer(groupBuysOrderRefundedConsumer, async () => deps);
