import { z } from 'zod';
import { MAX_AMOUNT } from '../money.ts';
import { textSchema } from '../text.ts';
import { isCalendarDay, utcTimeSchema } from '../time.ts';

/** What a reward is paid in. */
export const ASSETS = ['cash', 'points'] as const;
export type Asset = (typeof ASSETS)[number];

/** Why an entry exists. */
export const ENTRY_KINDS = ['invite_inviter', 'invite_invitee', 'commission', 'commission_reversal'] as const;
export type EntryKind = (typeof ENTRY_KINDS)[number];

/**
 * `locked` → `available` → `in_payout` → `paid`; a failed payout item puts entries back to
 * `available`; `rejected` is a held entry finance refused (void: counted in no balance).
 */
export const ENTRY_STATES = ['locked', 'available', 'in_payout', 'paid', 'rejected'] as const;
export type EntryState = (typeof ENTRY_STATES)[number];

/** An immutable ledger entry: only its `state` (and payout link, hold decision) ever moves. */
export interface LedgerEntry {
  id: string;
  payeeId: string;
  asset: Asset;
  /** Minor units; negative for reversals. */
  amount: number;
  kind: EntryKind;
  cause: { type: 'invite' | 'order' | 'refund'; id: string };
  state: EntryState;
  createdAt: string;
  unlockAt: string;
  /** Recorded but kept out of payouts until finance releases or rejects it. */
  held: boolean;
  holdDecision?: 'released' | 'rejected';
  /** A hold decision under way over several transactions (its reversals go first): the other one is refused meanwhile. */
  deciding?: 'released' | 'rejected';
  /** The payout the entry is in (in_payout) or was paid by (paid). */
  payoutId?: string;
  /** Commission entries: the campaign, its minimum payout and the sum reversed so far (≤ amount, as a positive number). */
  campaignId?: string;
  minPayout?: number;
  reversed?: number;
  /** Reversal entries: the commission entry they reverse. */
  reverses?: string;
  /** Commission entries: ids of the reversal entries recorded against them. */
  reversalIds?: string[];
}

/** The buckets of one payee's balance of one asset. `held` holds entries awaiting finance's review. */
export interface Buckets {
  locked: number;
  available: number;
  inPayout: number;
  paid: number;
  held: number;
}

export interface Balance extends Buckets {
  payeeId: string;
  asset: Asset;
}

/**
 * `creating` while payees are being moved into it (it can be neither confirmed nor failed yet);
 * `confirming` is the short step while a confirmation pays each line (no line can fail then).
 */
export const PAYOUT_STATUSES = ['creating', 'pending', 'confirming', 'confirmed'] as const;
export type PayoutStatus = (typeof PAYOUT_STATUSES)[number];

export interface Payout {
  id: string;
  asset: 'cash';
  status: PayoutStatus;
  /** Sum of the items not failed (0 while `creating`: set from the lines when creation ends). */
  total: number;
  minAmount: number;
  createdAt: string;
  confirmedAt?: string;
  reference?: string;
}

export interface PayoutItem {
  payoutId: string;
  payeeId: string;
  amount: number;
  status: 'in_payout' | 'paid' | 'failed';
  /** Every entry on the line (from its pages, and from the line itself for lines made before pages). */
  entryIds: string[];
  /** The moves that made the line, each written with the entries it moved: their ids and amount. */
  pages?: PayoutItemPage[];
  reason?: string;
}

export interface PayoutItemPage {
  entryIds: string[];
  amount: number;
}

const amount = z.number().int().min(0).max(MAX_AMOUNT);

/** `POST /v1/finance/payouts`. */
export const createPayoutSchema = z.strictObject({
  asset: z.literal('cash').describe('Only cash is paid out; points are spent in the shop'),
  minAmount: amount
    .default(100)
    .describe('Payees whose available balance is below this (minor units) are left for a later payout'),
});
export type CreatePayoutInput = z.input<typeof createPayoutSchema>;

/** `POST /v1/finance/payouts/{id}/confirm`. */
export const confirmPayoutSchema = z.strictObject({
  reference: textSchema(200).describe('The bank or wallet batch reference'),
});

/** `POST /v1/finance/payouts/{id}/items/{payeeId}/fail`. */
export const failPayoutItemSchema = z.strictObject({
  reason: textSchema(500, { multiline: true }).describe('Why the transfer to this payee failed'),
});

/**
 * One end of a period: an ISO-8601 UTC time, or a UTC day (`YYYY-MM-DD`) standing for its first
 * millisecond (`from`) or its last (`to`), so `from=2026-12-01&to=2026-12-31` is all of December.
 */
const periodEdge = (edge: 'from' | 'to') =>
  z.union([
    utcTimeSchema,
    z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}$/)
      .refine(isCalendarDay, 'not a calendar date from 1970 on')
      .transform((d) => (edge === 'from' ? `${d}T00:00:00.000Z` : `${d}T23:59:59.999Z`))
      .describe(`A UTC day: its ${edge === 'from' ? 'first' : 'last'} millisecond`),
  ]);

/** `GET /v1/finance/ledger` filters. */
export const ledgerQuerySchema = z.object({
  from: periodEdge('from').optional(),
  to: periodEdge('to').optional(),
  payeeId: z.string().min(1).max(128).optional(),
});

/** `GET /v1/finance/reconciliation` period. */
export const periodSchema = z.object({ from: periodEdge('from').optional(), to: periodEdge('to').optional() });
