import { describe, expect, it } from 'vitest';
import { ManualClock } from '#shared/clock';
import { CODE_PATTERN, newId, randomCode } from '#shared/ids';

describe('Module: ids', () => {
  it('makes prefixed ids that sort by time', () => {
    const clock = new ManualClock();
    const a = newId('brg', clock);
    clock.advance(1);
    const b = newId('brg', clock);
    expect(a).toMatch(/^brg_[0-9A-Z]{26}$/);
    expect(a < b).toBe(true);
  });

  it('makes codes from the unambiguous alphabet, with every character in use', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const code = randomCode(10);
      expect(code).toMatch(CODE_PATTERN);
      expect(code).toHaveLength(10);
      for (const ch of code) seen.add(ch);
    }
    expect(seen.size).toBe(31);
    expect([...seen].some((ch) => '01ilo'.includes(ch))).toBe(false);
  });
});
