import { z } from 'zod';
import { isCalendarDay, utcTimeSchema } from '../time.ts';

/** Longest range `GET /v1/kol/stats` answers, in days (both ends included). */
export const MAX_STATS_DAYS = 366;

const day = z
  .string()
  .refine((s) => /^\d{4}-\d{2}-\d{2}$/.test(s) || utcTimeSchema.safeParse(s).success, {
    message: 'expected YYYY-MM-DD (or an ISO-8601 UTC time, whose day is used)',
  })
  .transform((s) => s.slice(0, 10))
  .refine(isCalendarDay, { message: 'not a calendar date from 1970 on' });

/** `GET /v1/kol/stats?from=&to=`: UTC days, `from` ≤ `to`, at most 366 days. */
export const kolStatsQuerySchema = z
  .object({
    from: day.describe('First UTC day (YYYY-MM-DD; an ISO-8601 UTC time stands for its day), included'),
    to: day.describe('Last UTC day (YYYY-MM-DD; an ISO-8601 UTC time stands for its day), included'),
  })
  .superRefine((q, ctx) => {
    const n = daysBetween(q.from, q.to);
    if (n < 0) ctx.addIssue({ code: 'custom', path: ['to'], message: 'to must not be before from' });
    else if (n + 1 > MAX_STATS_DAYS)
      ctx.addIssue({ code: 'custom', path: ['to'], message: `at most ${MAX_STATS_DAYS} days` });
  });

/** Whole days from `a` to `b` (negative when b is earlier). */
export function daysBetween(a: string, b: string): number {
  return Math.round((Date.parse(`${b}T00:00:00.000Z`) - Date.parse(`${a}T00:00:00.000Z`)) / 86_400_000);
}

/** Every UTC day from `from` to `to`, both included. */
export function daysInRange(from: string, to: string): string[] {
  const out: string[] = [];
  const start = Date.parse(`${from}T00:00:00.000Z`);
  for (let i = 0; i <= daysBetween(from, to); i++)
    out.push(new Date(start + i * 86_400_000).toISOString().slice(0, 10));
  return out;
}
