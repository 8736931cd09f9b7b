import type { Consumer } from '#shared/events/consumer';
import { financeActivityConsumer } from './finance-activity.ts';
import { groupBuysOrderRefundedConsumer } from './group-buys-order-refunded.ts';
import { invitesOrderPaidConsumer } from './invites-order-paid.ts';
import { kolStatsConsumer } from './kol-stats.ts';
import { ledgerInviteQualifiedConsumer } from './ledger-invite-qualified.ts';
import { ledgerOrderAttributedConsumer } from './ledger-order-attributed.ts';
import { ledgerOrderRefundedConsumer } from './ledger-order-refunded.ts';
import { sharesConversionsConsumer } from './shares-conversions.ts';

/**
 * Every consumer by name; each name matches a rule in shared/events/rules.ts and a Lambda
 * entry `functions/consumers/<name>.ts` that exports `handler`.
 */
export const consumers: Consumer[] = [
  invitesOrderPaidConsumer,
  groupBuysOrderRefundedConsumer,
  sharesConversionsConsumer,
  kolStatsConsumer,
  ledgerInviteQualifiedConsumer,
  ledgerOrderAttributedConsumer,
  ledgerOrderRefundedConsumer,
  financeActivityConsumer,
];
