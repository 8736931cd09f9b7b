import { z } from 'zod';

/** A time as API.md writes them: ISO-8601 in UTC (`2026-11-24T10:00:00.000Z`); an offset is refused. */
export const utcTimeSchema = z
  .string()
  .datetime({ offset: false })
  .describe('ISO-8601 UTC time ending in Z (`2026-11-24T10:00:00.000Z`); an offset such as +08:00 → 400');

/** Whether `day` (`YYYY-MM-DD`) is a calendar date from 1970 on. */
export const isCalendarDay = (day: string): boolean =>
  /^\d{4}-\d{2}-\d{2}$/.test(day) &&
  day >= '1970-01-01' &&
  new Date(Date.parse(`${day}T00:00:00.000Z`) || 0).toISOString().startsWith(day);
