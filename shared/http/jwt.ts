import { createHmac, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { userIdSchema } from '../domain/text.ts';
import { UnauthorizedError } from '../errors.ts';

export const ROLES = ['user', 'kol', 'finance', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling, from a verified token. */
export interface Principal {
  sub: string;
  roles: Role[];
  name?: string;
}

const claimsSchema = z.object({
  sub: userIdSchema,
  roles: z.array(z.string()).max(256),
  iss: z.string(),
  aud: z.union([z.string(), z.array(z.string())]),
  exp: z.number(),
  nbf: z.number().optional(),
  name: z.unknown().optional(),
});

/** Longest display name kept from a token, in code points: a longer one is cut, a non-string one ignored. */
const MAX_NAME_CHARS = 64;

const b64json = (s: string): unknown => JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));

/**
 * Verifies an HS256 JWT. The algorithm is pinned: `none`, RS256 and every other `alg` are refused
 * before any key is used, so a token cannot pick how it is checked. `iss`, `aud` and `exp` are required.
 */
export function verifyJwt(
  token: string,
  opts: { secret: string; issuer: string; audience: string; nowSeconds: number; leewaySeconds?: number },
): Principal {
  const parts = token.split('.');
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]*$/.test(p)))
    throw new UnauthorizedError('Malformed token.');
  const [h, p, s] = parts as [string, string, string];
  let header: { alg?: unknown; typ?: unknown; crit?: unknown };
  let payload: unknown;
  try {
    header = b64json(h) as typeof header;
    payload = b64json(p);
  } catch {
    throw new UnauthorizedError('Malformed token.');
  }
  if (header?.alg !== 'HS256') throw new UnauthorizedError('Token algorithm must be HS256.');
  // RFC 7515 §4.1.11: a token naming extensions it must be understood with is refused (none are).
  if (header.crit !== undefined) throw new UnauthorizedError('Token header extensions are not supported.');
  const expected = createHmac('sha256', opts.secret).update(`${h}.${p}`).digest();
  const given = Buffer.from(s, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    throw new UnauthorizedError('Token signature is invalid.');
  const claims = claimsSchema.safeParse(payload);
  if (!claims.success) throw new UnauthorizedError('Token claims are missing or malformed.');
  const c = claims.data;
  const leeway = opts.leewaySeconds ?? 0;
  if (c.iss !== opts.issuer) throw new UnauthorizedError('Token issuer is not accepted.');
  const auds = Array.isArray(c.aud) ? c.aud : [c.aud];
  if (!auds.includes(opts.audience)) throw new UnauthorizedError('Token audience is not accepted.');
  if (c.exp + leeway <= opts.nowSeconds) throw new UnauthorizedError('Token has expired.');
  if (c.nbf !== undefined && c.nbf - leeway > opts.nowSeconds) throw new UnauthorizedError('Token is not valid yet.');
  const roles = c.roles.filter((r): r is Role => (ROLES as readonly string[]).includes(r));
  // `name` is display text only: a token is not refused for it.
  const name = typeof c.name === 'string' ? Array.from(c.name).slice(0, MAX_NAME_CHARS).join('') : undefined;
  return { sub: c.sub, roles, ...(name ? { name } : {}) };
}

/** Signs an HS256 JWT (local tokens, tests, benchmarks). */
export function signJwt(
  claims: { sub: string; roles: string[]; name?: string; exp?: number },
  opts: { secret: string; issuer: string; audience: string; nowSeconds: number; ttlSeconds?: number },
): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const body = {
    ...claims,
    iss: opts.issuer,
    aud: opts.audience,
    iat: opts.nowSeconds,
    exp: claims.exp ?? opts.nowSeconds + (opts.ttlSeconds ?? 3600),
  };
  const head = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc(body)}`;
  return `${head}.${createHmac('sha256', opts.secret).update(head).digest('base64url')}`;
}
