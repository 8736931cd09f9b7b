import { describe, expect, it } from 'vitest';
import { RateLimitedError } from '#shared/errors';
import { RateLimiter } from '#shared/http/rate-limit';

describe('Class: RateLimiter', () => {
  it('lets a second’s worth through, refuses the next with Retry-After, and refills with time', () => {
    let now = 0;
    const limiter = new RateLimiter(5, () => now);
    for (let i = 0; i < 5; i++) limiter.take('u');
    let refused: unknown;
    try {
      limiter.take('u');
    } catch (e) {
      refused = e;
    }
    expect(refused).toBeInstanceOf(RateLimitedError);
    expect((refused as RateLimitedError).headers['Retry-After']).toBe('1');
    limiter.take('other');
    now += 200;
    limiter.take('u');
    expect(() => limiter.take('u')).toThrow(RateLimitedError);
  });

  it('is off at rate 0', () => {
    const limiter = new RateLimiter(0, () => 0);
    for (let i = 0; i < 1000; i++) limiter.take('u');
  });
});
