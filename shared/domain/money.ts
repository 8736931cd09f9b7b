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
export const currencySchema = z
  .string()
  .regex(/^[A-Z]{3}$/)
  .default('CNY')
  .describe('ISO 4217 currency code');

/**
 * `floor(amount * bps / 10000)`, rounded toward the payer. Exact for every amount up to
 * MAX_AMOUNT: the product stays below 2^53 for bps ≤ 10000... so BigInt does the arithmetic anyway.
 */
export function applyBps(amount: number, bps: number): number {
  return Number((BigInt(amount) * BigInt(bps)) / 10000n);
}
