/**
 * The cut schedule of a bargain chain: decided once when the chain starts, stored with it,
 * so the price every frontend shows is the server's and no helper changes the outcome by timing.
 *
 * Shape (documented in the OpenAPI description of the help endpoint):
 * - `total = originalPrice - floorPrice` is split into exactly `helpersRequired` (n) integer cuts,
 *   each ≥ 1, summing exactly to `total`.
 * - Every cut is 1 plus a share of the excess `E = total - n`. Helper k (1-based) gets a weight
 *   `w_k ∈ [0.8/k, 1.2/k]` (a ±20 % seeded jitter around a harmonic 1/k curve); the weights are
 *   sorted descending, so the schedule never increases: the first helpers cut large, the last few
 *   cut small and the chain feels "almost there".
 * - Shares are floored (BigInt, exact); the units the flooring leaves over (fewer than n) go one
 *   each to the first helpers. Bounds: `1 + floor(E·(2/3)/(k·H_n)) ≤ cut_k ≤ 2 + E·1.5/(k·H_n)`
 *   with `H_n = 1 + 1/2 + … + 1/n`.
 * - The seed is the chain id, so a schedule is reproducible in tests.
 */

/** Jitter around the harmonic curve, in permille (±20 %). */
const JITTER_PERMILLE = 200;
/** Fixed-point scale of the weights. */
const WEIGHT_SCALE = 1_000_000_000;

/** A small seeded PRNG (mulberry32) over a string seed: same seed, same numbers. */
export function seededRandom(seed: string): () => number {
  let h = 1779033703 ^ seed.length;
  for (let i = 0; i < seed.length; i++) {
    h = Math.imul(h ^ seed.charCodeAt(i), 3432918353);
    h = (h << 13) | (h >>> 19);
  }
  let a = h >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Splits `total` into `helpers` non-increasing cuts ≥ 1 that sum to `total`, reproducibly from `seed`. */
export function cutSchedule(total: number, helpers: number, seed: string): number[] {
  if (!Number.isSafeInteger(total) || !Number.isInteger(helpers) || helpers < 1 || total < helpers)
    throw new RangeError('a schedule needs an integer total ≥ helpers ≥ 1');
  const rand = seededRandom(seed);
  const weights: bigint[] = [];
  for (let k = 1; k <= helpers; k++) {
    const jitter = Math.floor(rand() * (2 * JITTER_PERMILLE + 1)) - JITTER_PERMILLE;
    weights.push(BigInt(Math.floor((WEIGHT_SCALE * (1000 + jitter)) / (1000 * k))));
  }
  weights.sort((a, b) => (a > b ? -1 : a < b ? 1 : 0));
  const sum = weights.reduce((a, b) => a + b, 0n);
  const excess = BigInt(total - helpers);
  const shares = weights.map((w) => (excess * w) / sum);
  let left = Number(excess - shares.reduce((a, b) => a + b, 0n));
  return shares.map((s) => {
    const extra = left > 0 ? 1 : 0;
    left -= extra;
    return 1 + Number(s) + extra;
  });
}

/** How much larger than scheduled a new user's cut may be: up to this multiple of the scheduled cut. */
export const NEW_USER_BONUS_FACTOR = 2;

/**
 * The cut the next helper makes. Normally the scheduled cut; a new user (when the campaign has
 * `newUserBonus`) cuts up to twice that. Either way the cut never leaves less than 1 for each
 * helper still to come, and the helper who completes the chain takes exactly the remainder, so
 * the cuts always sum to `originalPrice - floorPrice` and the price lands on the floor exactly
 * at the last help, whatever bonuses were given on the way.
 */
export function nextCut(input: {
  schedule: number[];
  helperCount: number;
  /** What is still to cut: current price − floor. */
  remaining: number;
  bonus: boolean;
}): number {
  const { schedule, helperCount, remaining, bonus } = input;
  const helpersLeft = schedule.length - helperCount;
  if (helpersLeft < 1) throw new RangeError('the chain needs no more helpers');
  if (helpersLeft === 1) return remaining;
  const scheduled = schedule[helperCount]!;
  const wanted = bonus ? scheduled * NEW_USER_BONUS_FACTOR : scheduled;
  return Math.max(1, Math.min(wanted, remaining - (helpersLeft - 1)));
}
