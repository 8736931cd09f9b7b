import { financeActivityConsumer } from '#functions/consumers/finance-activity';
import { ledgerInviteQualifiedConsumer } from '#functions/consumers/ledger-invite-qualified';
import { ledgerOrderAttributedConsumer } from '#functions/consumers/ledger-order-attributed';
import { ledgerOrderRefundedConsumer } from '#functions/consumers/ledger-order-refunded';
import type { Clock } from '#shared/clock';
import type { Deps } from '#shared/deps';
import { reversalIdFor } from '#shared/domain/ledger/apply-reversals';
import type { LedgerEntry } from '#shared/domain/ledger/ledger.schema';
import { entryIdFor } from '#shared/domain/ledger/rules';
import type { Consumer } from '#shared/events/consumer';
import { buildEvent } from '#shared/events/outbox';
import type { BusEvent } from '#shared/events/schemas';
import { findBalances, findEntry } from '#shared/store/ledger';

/** An attributed order's event, as the orders area emits it. */
export function orderAttributed(
  clock: Clock,
  o: {
    orderId: string;
    kolId: string;
    commission: number;
    lockSeconds?: number;
    held?: boolean;
    minPayout?: number;
    campaignId?: string;
  },
) {
  return buildEvent(
    'OrderAttributed',
    {
      orderId: o.orderId,
      userId: `buyer-${o.orderId}`,
      amount: o.commission * 10,
      currency: 'CNY',
      paidAt: new Date(clock.now()).toISOString(),
      campaignId: o.campaignId ?? 'cmp_commission',
      linkCode: 'abcd2345',
      kolId: o.kolId,
      rateBps: 1000,
      commission: o.commission,
      lockSeconds: o.lockSeconds ?? 0,
      minPayout: o.minPayout ?? 100,
      held: o.held ?? false,
    },
    clock,
  );
}

/** A refund's event carrying the commission to reverse. */
export function orderRefunded(clock: Clock, r: { orderId: string; refundId: string; kolId: string; reversal: number }) {
  return buildEvent(
    'OrderRefunded',
    {
      orderId: r.orderId,
      refundId: r.refundId,
      amount: r.reversal * 10,
      orderAmount: 100_000,
      refundedTotal: r.reversal * 10,
      refundedAt: new Date(clock.now()).toISOString(),
      kolId: r.kolId,
      campaignId: 'cmp_commission',
      commission: 0,
      reversal: r.reversal,
    },
    clock,
  );
}

/** A qualified invite's event. */
export function inviteQualified(
  clock: Clock,
  i: {
    inviteId: string;
    inviterId: string;
    inviteeId: string;
    inviter?: number;
    invitee?: number;
    asset?: 'cash' | 'points';
    held?: boolean;
    rewarded?: boolean;
    lockSeconds?: number;
  },
) {
  return buildEvent(
    'InviteQualified',
    {
      inviteId: i.inviteId,
      campaignId: 'cmp_invite',
      inviterId: i.inviterId,
      inviteeId: i.inviteeId,
      rewarded: i.rewarded ?? true,
      held: i.held ?? false,
      inviterReward: { asset: i.asset ?? 'cash', amount: i.inviter ?? 500 },
      inviteeReward: { asset: i.asset ?? 'cash', amount: i.invitee ?? 200 },
      lockSeconds: i.lockSeconds ?? 0,
    },
    clock,
  );
}

const byType: Record<string, Consumer> = {
  InviteQualified: ledgerInviteQualifiedConsumer,
  OrderAttributed: ledgerOrderAttributedConsumer,
  OrderRefunded: ledgerOrderRefundedConsumer,
  GroupBuyFormed: financeActivityConsumer,
  GroupBuyFailed: financeActivityConsumer,
  BargainCompleted: financeActivityConsumer,
  BargainPurchased: financeActivityConsumer,
};

/** Delivers an event straight to the ledger consumer of its type. */
export async function deliver(deps: Deps, event: BusEvent): Promise<void> {
  await byType[event['detail-type']]!.handle(event, deps);
}

/** The derived ids of an order's commission and a refund's reversal. */
export const commissionId = (orderId: string, kolId: string) => entryIdFor('order', orderId, kolId, 'commission');
export const reversalId = reversalIdFor;

/** A payee's balance of one asset (zeros when none). */
export async function balanceOf(deps: Deps, payeeId: string, asset = 'cash') {
  const b = (await findBalances(deps.store, payeeId)).find((x) => x.asset === asset);
  return b
    ? { locked: b.locked, available: b.available, inPayout: b.inPayout, paid: b.paid, held: b.held }
    : { locked: 0, available: 0, inPayout: 0, paid: 0, held: 0 };
}

export { findEntry };

/** `n` available cash entries of 1 fen for one payee, as invite rewards (`cause` ids `<prefix>-<i>`), created at `at`. */
export function availableEntries(payeeId: string, n: number, prefix: string, at: string): LedgerEntry[] {
  return Array.from({ length: n }, (_, i) => ({
    id: entryIdFor('invite', `${prefix}-${i}`, payeeId, 'invite_inviter'),
    payeeId,
    asset: 'cash',
    amount: 1,
    kind: 'invite_inviter',
    cause: { type: 'invite', id: `${prefix}-${i}` },
    state: 'available',
    createdAt: at,
    unlockAt: at,
    held: false,
  }));
}
