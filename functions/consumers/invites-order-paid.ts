import { createDeps } from '#shared/deps';
import { qualifyInvites } from '#shared/domain/invites/qualify-invite';
import { defineConsumer, lambdaConsumer } from '#shared/events/consumer';
import { loadSecrets } from '#shared/secrets';

/** Qualifies the pending `first_order` invites of a user on their first paid order, each once. */
export const invitesOrderPaidConsumer = defineConsumer('invites-order-paid', ['OrderPaid'], async (event, deps) => {
  const { userId, paidAt, firstOrder } = event.detail;
  if (!firstOrder) return;
  await qualifyInvites(deps, { inviteeId: userId, paidAt });
});

const deps = createDeps({ env: await loadSecrets() });
export const handler = lambdaConsumer(invitesOrderPaidConsumer, async () => deps);
