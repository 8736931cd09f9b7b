import { z } from 'zod';

const list = z
  .string()
  .default('')
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim().toLowerCase())
      .filter(Boolean),
  );
/** A whole number written in digits; unset or blank is the default (as for PORT). */
const int = (def: number) =>
  z.preprocess(
    (v) => (typeof v === 'string' && v.trim() === '' ? undefined : v),
    z
      .string()
      .trim()
      .regex(/^\d{1,15}$/, 'must be a whole number in digits')
      .transform(Number)
      .default(def),
  );
/** A web address pages and links may use: http or https only. */
const webUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });
/** Host names as a URL's hostname reads them (`shop.example.com`, `[::1]`): no scheme, path or port. */
const HOST_NAME = /^(?:[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?|\[[0-9a-f:.]+\])$/;
/** A browser origin (`https://shop.example.com`, `http://localhost:5173`), or `*`. */
const ORIGIN = /^(?:\*|https?:\/\/(?:[a-z0-9_-]+(?:\.[a-z0-9_-]+)*|\[[0-9a-f:.]+\])(?::\d{1,5})?)$/;

const envSchema = z.object({
  TABLE_NAME: z.string().min(3).default('fission'),
  DYNAMODB_ENDPOINT: z.string().url().optional(),
  AWS_REGION: z.string().default('local'),
  EVENT_BUS_NAME: z.string().default('fission'),
  JWT_SECRET: z.string().min(1).default('change-me'),
  JWT_ISSUER: z.string().default('fission-local'),
  JWT_AUDIENCE: z.string().default('fission'),
  WEBHOOK_SECRET: z.string().min(1).default('change-me'),
  /** Signs attribution tokens (`fission_ref`); defaults to a key derived from JWT_SECRET. */
  ATTRIBUTION_SECRET: z.string().min(1).optional(),
  PUBLIC_BASE_URL: webUrl.default('http://localhost:3000'),
  /** H5 pages of shared objects (bargain, group buy, invite, product) live under this URL. */
  H5_BASE_URL: webUrl.optional(),
  ALLOWED_REDIRECT_HOSTS: list.refine((hosts) => hosts.every((h) => HOST_NAME.test(h)), {
    message: 'must be host names (shop.example.com), not URLs',
  }),
  /** Origins allowed to call the API from a browser (comma-separated); empty = any. */
  CORS_ORIGINS: list.refine((origins) => origins.every((o) => ORIGIN.test(o)), {
    message: 'must be origins (https://shop.example.com, with a port where there is one) or *',
  }),
  RATE_LIMIT_USER_PER_SEC: int(50),
  RATE_LIMIT_IP_PER_SEC: int(500),
  /** How long click counter ADDs of one item gather before they are written (the local server: 250). */
  COUNTER_ROLLUP_MS: int(0),
  /**
   * How long an order, refund or invite may wait for its ledger entry before reconciliation fails
   * it: the longest its event can still be retried (the local bus: well under a minute).
   */
  SETTLE_GRACE_MINUTES: int(15),
  LOG_LEVEL: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT']).default('INFO'),
});

export type Config = z.infer<typeof envSchema> & { attributionSecret: string; h5BaseUrl: string };

/** Reads and validates the environment once; throws with every bad variable named. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const bad = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new Error(`Invalid configuration: ${bad}`);
  }
  const c = parsed.data;
  return {
    ...c,
    attributionSecret: c.ATTRIBUTION_SECRET ?? `attribution:${c.JWT_SECRET}`,
    h5BaseUrl: c.H5_BASE_URL ?? `${c.PUBLIC_BASE_URL.replace(/\/$/, '')}/h5`,
  };
}
