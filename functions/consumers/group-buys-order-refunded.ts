import { createDeps } from '#shared/deps';
import { applyRefundToGroup } from '#shared/domain/group-buys/order-leaves-group';
import { defineConsumer, lambdaConsumer } from '#shared/events/consumer';
import { loadSecrets } from '#shared/secrets';

/** A full refund before the group formed: the leader's order fails the group (GroupBuyFailed, `leader_refunded`), a member's takes the member out (GroupBuyLeft, `order_refunded`). */
export const groupBuysOrderRefundedConsumer = defineConsumer(
  'group-buys-order-refunded',
  ['OrderRefunded'],
  async (event, deps) => {
    const { orderId, orderAmount, refundedTotal } = event.detail;
    await applyRefundToGroup(deps, { orderId, orderAmount, refundedTotal });
  },
);

const deps = createDeps({ env: await loadSecrets() });

export const handler = lambdaConsumer(groupBuysOrderRefundedConsumer, async () => deps);
