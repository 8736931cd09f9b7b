import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signAttributionToken, tokenInWindow, verifyAttributionToken } from '#shared/domain/links/attribution-token';

const SECRET = 'unit-secret';
const claims = { code: 'abc23def45', visitorId: 'visitor-0001', issuedAtMs: Date.parse('2026-11-24T10:00:00.000Z') };
const CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~';

describe('Attribution tokens', () => {
  it('verifies what it signed, and nothing signed with another secret', () => {
    const t = signAttributionToken(SECRET, claims);
    expect(verifyAttributionToken(SECRET, t)).toEqual(claims);
    expect(verifyAttributionToken('other', t)).toBeUndefined();
  });

  it('round-trips any code, visitor and time', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[23456789abcdefghjkmnpqrstuvwxyz]{4,32}$/),
        fc.stringMatching(/^[A-Za-z0-9_-]{8,64}$/),
        fc.integer({ min: 0, max: 4_102_444_800_000 }),
        (code, visitorId, issuedAtMs) => {
          const t = signAttributionToken(SECRET, { code, visitorId, issuedAtMs });
          expect(verifyAttributionToken(SECRET, t)).toEqual({ code, visitorId, issuedAtMs });
        },
      ),
    );
  });

  it('accepts none of 10,000 mutated tokens (changed, inserted, deleted characters, swapped parts)', () => {
    const token = signAttributionToken(SECRET, claims);
    let tried = 0;
    let accepted = 0;
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            op: fc.constantFrom('replace', 'insert', 'delete', 'truncate', 'swap'),
            pos: fc.nat(),
            ch: fc.constantFrom(...CHARS),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        (ops) => {
          let t = token;
          for (const { op, pos, ch } of ops) {
            const i = pos % (t.length || 1);
            if (op === 'replace') t = t.slice(0, i) + ch + t.slice(i + 1);
            if (op === 'insert') t = t.slice(0, i) + ch + t.slice(i);
            if (op === 'delete') t = t.slice(0, i) + t.slice(i + 1);
            if (op === 'truncate') t = t.slice(0, i);
            if (op === 'swap') t = t.split('.').reverse().join('.');
          }
          if (t === token) return;
          tried++;
          if (verifyAttributionToken(SECRET, t) !== undefined) accepted++;
        },
      ),
      { numRuns: 10_000 },
    );
    expect(tried).toBeGreaterThan(9_000);
    expect(accepted).toBe(0);
  });

  it('refuses every single-character change, including ones base64 would decode the same', () => {
    const token = signAttributionToken(SECRET, claims);
    for (let i = 0; i < token.length; i++)
      for (const ch of CHARS) {
        if (ch === token[i]) continue;
        expect(verifyAttributionToken(SECRET, token.slice(0, i) + ch + token.slice(i + 1))).toBeUndefined();
      }
  });

  it('refuses a re-signed payload with other claims only when the key is unknown', () => {
    const forged = signAttributionToken('guess', { ...claims, code: 'zzzzzzzzzz' });
    expect(verifyAttributionToken(SECRET, forged)).toBeUndefined();
    expect(verifyAttributionToken(SECRET, '')).toBeUndefined();
    expect(verifyAttributionToken(SECRET, undefined)).toBeUndefined();
    expect(verifyAttributionToken(SECRET, 'a'.repeat(5000))).toBeUndefined();
  });

  it('is honoured only inside the window after it was issued (5 minutes of clock skew)', () => {
    const t = claims.issuedAtMs;
    expect(tokenInWindow(claims, 3600, t)).toBe(true);
    expect(tokenInWindow(claims, 3600, t + 3600_000)).toBe(true);
    expect(tokenInWindow(claims, 3600, t + 3600_001)).toBe(false);
    expect(tokenInWindow(claims, 3600, t - 299_000)).toBe(true);
    expect(tokenInWindow(claims, 3600, t - 301_000)).toBe(false);
  });
});
