import { ConflictError, ForbiddenError, GoneError, RateLimitedError } from '../../errors.ts';
import type { BargainChain, BargainHelp, BargainStatus, BargainView, HelperView } from './bargain.schema.ts';

/** The status a chain has now: an active chain past `expiresAt` is expired at once, before the sweeper gets to it. */
export function effectiveStatus(chain: Pick<BargainChain, 'status' | 'expiresAt'>, nowMs: number): BargainStatus {
  return chain.status === 'active' && Date.parse(chain.expiresAt) <= nowMs ? 'expired' : chain.status;
}

/** A chain's entitlement id is derived from the chain id, so completion and purchase always name the same one. */
export const entitlementIdFor = (chainId: string): string => `ent_${chainId.replace(/^brg_/, '')}`;

/** Seconds until the next UTC midnight, when a user's daily help count starts again. */
export function secondsUntilNextUtcDay(nowMs: number): number {
  const next = new Date(nowMs);
  next.setUTCHours(24, 0, 0, 0);
  return Math.max(1, Math.ceil((next.getTime() - nowMs) / 1000));
}

/** The chain as the API answers it; the entitlement id is shown only to the initiator. */
export function toView(chain: BargainChain, h5BaseUrl: string, viewerId: string, nowMs: number): BargainView {
  return {
    id: chain.id,
    campaignId: chain.campaignId,
    initiatorId: chain.initiatorId,
    status: effectiveStatus(chain, nowMs),
    sku: chain.sku,
    originalPrice: chain.originalPrice,
    floorPrice: chain.floorPrice,
    price: chain.price,
    helpersRequired: chain.helpersRequired,
    helperCount: chain.helperCount,
    allowBuyAtCurrentPrice: chain.allowBuyAtCurrentPrice,
    expiresAt: chain.expiresAt,
    createdAt: chain.createdAt,
    shareUrl: `${h5BaseUrl.replace(/\/$/, '')}/bargains/${chain.id}`,
    ...(viewerId === chain.initiatorId && (chain.status === 'completed' || chain.status === 'purchased')
      ? { entitlementId: chain.entitlementId }
      : {}),
  };
}

/** Helpers in the order they helped: masked names for everyone, user ids for the initiator only. */
export function helperViews(helps: BargainHelp[], isInitiator: boolean): HelperView[] {
  return [...helps]
    .sort((a, b) => a.position - b.position)
    .map((h) => ({
      ...(h.displayName ? { displayName: h.displayName } : {}),
      cut: h.cut,
      helpedAt: h.helpedAt,
      ...(isInitiator ? { helperId: h.helperId } : {}),
    }));
}

export class SelfHelpForbiddenError extends ForbiddenError {
  constructor() {
    super('The initiator cannot help their own chain.', 'self_help_forbidden');
  }
}
export class AlreadyHelpedError extends ConflictError {
  constructor() {
    super('already_helped', 'You already helped this chain.');
  }
}
export class BargainClosedError extends ConflictError {
  constructor() {
    super('bargain_closed', 'This chain is completed or purchased; it takes no more helps.');
  }
}
export class BargainExpiredError extends GoneError {
  constructor() {
    super('bargain_expired', 'This chain has expired.');
  }
}
export class DailyHelpLimitError extends RateLimitedError {
  constructor(retryAfterSeconds: number) {
    super(retryAfterSeconds, 'daily_help_limit', 'You reached the number of helps allowed today (UTC).');
  }
}
export class NotPurchasableError extends ConflictError {
  constructor(why: string) {
    super('bargain_not_purchasable', why);
  }
}
/** Stock used up: 409 `conflict` (API.md lists no code of its own for it), the detail says why. */
export class OutOfStockError extends ConflictError {
  constructor() {
    super('conflict', "The campaign's stock is used up.");
  }
}

/** Internal: the chain moved on between the read and the write; carries the chain as it now is. */
export class ChainMovedError extends Error {
  constructor(readonly chain: BargainChain | undefined) {
    super('The chain changed; read again.');
  }
}
