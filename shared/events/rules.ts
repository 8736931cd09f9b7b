import type { EventName } from './schemas.ts';

/**
 * The event rules, defined once: the CDK stack makes one EventBridge rule and one consumer
 * Lambda (`functions/consumers/<consumer>.ts`) per entry; the local bus matches the same list.
 */
export interface Rule {
  /** Consumer name: the handler file and the rule's name. */
  consumer: string;
  detailTypes: EventName[];
  description: string;
}

export const rules: Rule[] = [
  {
    consumer: 'ledger-invite-qualified',
    detailTypes: ['InviteQualified'],
    description: 'Pays both sides of a qualified invite into the ledger',
  },
  {
    consumer: 'ledger-order-attributed',
    detailTypes: ['OrderAttributed'],
    description: "Accrues a KOL's commission on an attributed order",
  },
  {
    consumer: 'ledger-order-refunded',
    detailTypes: ['OrderRefunded'],
    description: 'Reverses commission in proportion to a refund',
  },
  {
    consumer: 'finance-activity',
    detailTypes: ['GroupBuyFormed', 'GroupBuyFailed', 'BargainCompleted', 'BargainPurchased'],
    description: "Records group-buy and bargain outcomes for finance's view",
  },
  {
    consumer: 'invites-order-paid',
    detailTypes: ['OrderPaid'],
    description: "Qualifies a pending first_order invite on the invitee's first paid order",
  },
  {
    consumer: 'shares-conversions',
    detailTypes: ['BargainHelped', 'GroupBuyJoined', 'InviteAccepted'],
    description: "Counts a help, join or invite acceptance that followed a share link as that share's conversion",
  },
  {
    consumer: 'kol-stats',
    detailTypes: ['OrderAttributed', 'OrderRefunded'],
    description: "Rolls conversions, GMV and commission into a KOL's daily stats",
  },
  {
    consumer: 'group-buys-order-refunded',
    detailTypes: ['OrderRefunded'],
    description: "Fails an open group whose leader's order was refunded",
  },
];
