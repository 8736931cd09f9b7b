import { z } from 'zod';

/** Largest amount accepted anywhere (minor units): ¥10 billion, far inside Number.MAX_SAFE_INTEGER. */
export const MAX_AMOUNT = 1_000_000_000_000;

/** An amount of money in minor units (fen for CNY): a non-negative integer, never a float. */
export const amountSchema = z.number().int().min(0).max(MAX_AMOUNT).describe('Integer amount in minor units (fen)');
export const positiveAmountSchema = z
  .number()
  .int()
  .min(1)
  .max(MAX_AMOUNT)
  .describe('Integer amount in minor units (fen), ≥ 1');
/**
 * The one currency money is kept in: the ledger's `cash` is fen, so an amount in any other
 * currency would be added to fen as if it were fen. Anything else is refused.
 */
export const currencySchema = z
  .literal('CNY')
  .default('CNY')
  .describe(
    'ISO 4217 currency code; the ledger settles CNY (fen) only, so any other currency → 400 `validation_failed`',
  );

/**
 * `floor(amount * bps / 10000)`, rounded toward the payer. Exact for every amount up to
 * MAX_AMOUNT: the product stays below 2^53 for bps ≤ 10000... so BigInt does the arithmetic anyway.
 */
export function applyBps(amount: number, bps: number): number {
  return Number((BigInt(amount) * BigInt(bps)) / 10000n);
}
