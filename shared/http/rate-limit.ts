import { RateLimitedError } from '../errors.ts';

/**
 * Token buckets in process memory: `ratePerSecond` refill, bursts up to one second's worth.
 * Each Lambda container and the local server keep their own; on AWS the HTTP API's stage
 * throttling caps the total. A rate of 0 turns the limit off.
 */
export class RateLimiter {
  private buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly ratePerSecond: number,
    private readonly now: () => number,
  ) {}

  /** Takes one token for `key`, or throws 429 `rate_limited` with the seconds until the next one. */
  take(key: string): void {
    if (this.ratePerSecond <= 0) return;
    const now = this.now();
    const b = this.buckets.get(key) ?? { tokens: this.ratePerSecond, at: now };
    b.tokens = Math.min(this.ratePerSecond, b.tokens + ((now - b.at) / 1000) * this.ratePerSecond);
    b.at = now;
    if (b.tokens < 1) {
      this.buckets.set(key, b);
      throw new RateLimitedError((1 - b.tokens) / this.ratePerSecond);
    }
    b.tokens -= 1;
    this.buckets.set(key, b);
    if (this.buckets.size > 50_000) this.prune(now);
  }

  private prune(now: number): void {
    for (const [k, b] of this.buckets) if (now - b.at > 2000) this.buckets.delete(k);
  }
}
