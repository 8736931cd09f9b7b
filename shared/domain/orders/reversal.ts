/** Commission reversed in total once `refundedTotal` of `orderAmount` is refunded: floor, toward the payer. */
export function cumulativeReversal(commission: number, orderAmount: number, refundedTotal: number): number {
  return Number((BigInt(commission) * BigInt(refundedTotal)) / BigInt(orderAmount));
}

/**
 * The reversal of one refund taking the refunded total from `before` to `after`: the difference
 * of the cumulative reversals, so the parts always add up to at most the commission, and to all of
 * it when the order is refunded in full, whatever the split.
 */
export function reversalFor(commission: number, orderAmount: number, before: number, after: number): number {
  return cumulativeReversal(commission, orderAmount, after) - cumulativeReversal(commission, orderAmount, before);
}
