import { z } from 'zod';

/** `POST /v1/bargains`. */
export const startBargainSchema = z.strictObject({
  campaignId: z.string().min(1).max(64).describe('A bargain campaign'),
});
export type StartBargainInput = z.input<typeof startBargainSchema>;

export const BARGAIN_STATUSES = ['active', 'completed', 'expired', 'purchased'] as const;
export type BargainStatus = (typeof BARGAIN_STATUSES)[number];

/** A chain as stored: the campaign's rules are copied in at start (its cut schedule is stored beside it). */
export interface BargainChain {
  id: string;
  campaignId: string;
  initiatorId: string;
  status: BargainStatus;
  sku: string;
  originalPrice: number;
  floorPrice: number;
  price: number;
  helpersRequired: number;
  helperCount: number;
  maxHelpsPerUserPerDay: number;
  allowBuyAtCurrentPrice: boolean;
  newUserBonus: boolean;
  /** The campaign's stock when the chain started (absent: unlimited). */
  stock?: number;
  /** Deterministic per chain: what the shop redeems to sell at the bargain price. */
  entitlementId: string;
  expiresAt: string;
  createdAt: string;
  updatedAt: string;
  completedAt?: string;
  purchasedAt?: string;
  expiredAt?: string;
  /** The purchase request's Idempotency-Key (`requestKey`), when it had one: its retry answers this purchase. */
  purchaseKey?: string;
}

/** One help as stored beside its chain. */
export interface BargainHelp {
  chainId: string;
  helperId: string;
  /** Masked at write time: the raw name is never stored. */
  displayName?: string;
  cut: number;
  /** The chain's price after this help. */
  price: number;
  /** 1-based position of this help in the chain. */
  position: number;
  newUser: boolean;
  helpedAt: string;
  /** The help request's Idempotency-Key (`requestKey`), when it had one: its retry answers this help. */
  requestKey?: string;
}

/** The chain as the API answers it. */
export interface BargainView {
  id: string;
  campaignId: string;
  initiatorId: string;
  status: BargainStatus;
  sku: string;
  originalPrice: number;
  floorPrice: number;
  price: number;
  helpersRequired: number;
  helperCount: number;
  allowBuyAtCurrentPrice: boolean;
  expiresAt: string;
  createdAt: string;
  shareUrl: string;
  entitlementId?: string;
}

export interface HelperView {
  displayName?: string;
  cut: number;
  helpedAt: string;
  helperId?: string;
}

/** `POST /v1/bargains/{id}/helps` answer. */
export interface HelpResult {
  cut: number;
  price: number;
  helperCount: number;
  status: BargainStatus;
}

/** `POST /v1/bargains/{id}/purchase` answer. */
export interface PurchaseResult {
  entitlementId: string;
  price: number;
  chainId: string;
}
