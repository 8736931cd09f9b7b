import { z } from 'zod';
import { utcDay } from '../../clock.ts';
import { ValidationError } from '../../errors.ts';
import { isCalendarDay, utcTimeSchema } from '../time.ts';

/** Longest range `GET /v1/kol/stats` answers, in days (both ends included). */
export const MAX_STATS_DAYS = 366;
/** The range `GET /v1/kol/stats` answers without `from`: 30 days, ending at `to`. */
export const DEFAULT_STATS_DAYS = 30;

const day = z
  .string()
  .refine((s) => /^\d{4}-\d{2}-\d{2}$/.test(s) || utcTimeSchema.safeParse(s).success, {
    message: 'expected YYYY-MM-DD (or an ISO-8601 UTC time, whose day is used)',
  })
  .transform((s) => s.slice(0, 10))
  .refine(isCalendarDay, { message: 'not a calendar date from 1970 on' });

/** `GET /v1/kol/stats?from=&to=`: UTC days, both optional (see statsRange). */
export const kolStatsQuerySchema = z.object({
  from: day
    .optional()
    .describe(
      `First UTC day (YYYY-MM-DD; an ISO-8601 UTC time stands for its day), included; default: ${DEFAULT_STATS_DAYS - 1} days before \`to\``,
    ),
  to: day
    .optional()
    .describe('Last UTC day (YYYY-MM-DD; an ISO-8601 UTC time stands for its day), included; default: today (UTC)'),
});

/**
 * The days a stats read covers: `to` defaults to today (UTC) and `from` to the 30 days ending at
 * `to`; `from` ≤ `to` and at most 366 days, else 400.
 */
export function statsRange(q: { from?: string | undefined; to?: string | undefined }, nowMs: number) {
  const to = q.to ?? utcDay(nowMs);
  const from = q.from ?? utcDay(Date.parse(`${to}T00:00:00.000Z`) - (DEFAULT_STATS_DAYS - 1) * 86_400_000);
  const n = daysBetween(from, to);
  const problem =
    n < 0
      ? q.to === undefined
        ? 'must not be after today (UTC) when to is not given'
        : 'to must not be before from'
      : n + 1 > MAX_STATS_DAYS
        ? `at most ${MAX_STATS_DAYS} days`
        : '';
  // Point at what the caller sent: `from` when `to` is today's by default.
  const path = q.to === undefined ? 'from' : 'to';
  if (problem) throw new ValidationError('The request is not valid.', [{ path, message: problem }]);
  return { from, to };
}

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
