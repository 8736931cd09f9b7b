import { describe, expect, it } from 'vitest';
import { daysInRange, kolStatsQuerySchema, statsRange } from '#shared/domain/kol/kol-stats.schema';

describe('KOL stats range', () => {
  it('lists every day from from to to, across month and leap-year ends', () => {
    expect(daysInRange('2024-02-28', '2024-03-01')).toEqual(['2024-02-28', '2024-02-29', '2024-03-01']);
    expect(daysInRange('2026-12-31', '2026-12-31')).toEqual(['2026-12-31']);
  });

  it('accepts up to 366 days and refuses more, reversed ranges and non-dates', () => {
    const now = Date.parse('2026-12-07T15:00:00.000Z');
    expect(statsRange({ from: '2024-01-01', to: '2024-12-31' }, now)).toEqual({ from: '2024-01-01', to: '2024-12-31' });
    expect(() => statsRange({ from: '2024-01-01', to: '2025-01-01' }, now)).toThrow(/not valid/);
    expect(() => statsRange({ from: '2026-01-02', to: '2026-01-01' }, now)).toThrow(/not valid/);
    expect(kolStatsQuerySchema.safeParse({ from: '2026-13-01', to: '2026-13-02' }).success).toBe(false);
    expect(kolStatsQuerySchema.safeParse({ from: '2026-02-29', to: '2026-03-01' }).success).toBe(false);
  });

  it('defaults to today (UTC) for to and to the 30 days ending at to for from', () => {
    const now = Date.parse('2026-12-07T23:59:59.999Z');
    expect(statsRange({}, now)).toEqual({ from: '2026-11-08', to: '2026-12-07' });
    expect(statsRange({ to: '2024-03-01' }, now)).toEqual({ from: '2024-02-01', to: '2024-03-01' }); // a leap February
    expect(statsRange({ from: '2026-12-01' }, now)).toEqual({ from: '2026-12-01', to: '2026-12-07' });
    expect(() => statsRange({ from: '2026-12-08' }, now)).toThrow(/not valid/);
  });

  it('takes the day of a well-formed UTC time, and refuses malformed times and days before 1970', () => {
    expect(kolStatsQuerySchema.parse({ from: '2026-01-01T00:00:00Z', to: '2026-01-02T23:59:59.999Z' })).toEqual({
      from: '2026-01-01',
      to: '2026-01-02',
    });
    for (const bad of ['2026-01-01T99:99:99Z', '2026-01-01T10:00:00+08:00', '2026-01-01T', '0000-01-01', '1969-12-31'])
      expect(kolStatsQuerySchema.safeParse({ from: bad, to: '2026-01-02' }).success, bad).toBe(false);
  });
});
