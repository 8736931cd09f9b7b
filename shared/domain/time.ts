import { z } from 'zod';

/** A time as API.md writes them: ISO-8601 in UTC (`2026-11-24T10:00:00.000Z`); an offset is refused. */
export const utcTimeSchema = z
  .string()
  .datetime({ offset: false })
  .describe('ISO-8601 UTC time ending in Z (`2026-11-24T10:00:00.000Z`); an offset such as +08:00 → 400');
