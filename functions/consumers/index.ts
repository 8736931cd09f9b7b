import type { Consumer } from '#shared/events/consumer';
import { groupBuysOrderRefundedConsumer } from './group-buys-order-refunded.ts';
import { invitesOrderPaidConsumer } from './invites-order-paid.ts';

/**
 * Every consumer by name; each name matches a rule in shared/events/rules.ts and a Lambda
 * entry `functions/consumers/<name>.ts` that exports `handler`.
 */
export const consumers: Consumer[] = [invitesOrderPaidConsumer, groupBuysOrderRefundedConsumer];
