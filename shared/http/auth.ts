import { createMiddleware } from 'hono/factory';
import { ForbiddenError, UnauthorizedError } from '../errors.ts';
import type { AppEnv } from './context.ts';
import { type Role, verifyJwt } from './jwt.ts';

/**
 * Requires a valid bearer token, and one of `roles` when given (401 without a valid token,
 * 403 without the role). Also applies the per-user rate limit.
 */
export function requireAuth(...roles: Role[]) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const { config, clock } = c.get('deps');
    const header = c.req.header('authorization') ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    if (!m) throw new UnauthorizedError();
    const principal = verifyJwt(m[1]!, {
      secret: config.JWT_SECRET,
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      nowSeconds: Math.floor(clock.now() / 1000),
    });
    if (roles.length > 0 && !roles.some((r) => principal.roles.includes(r))) throw new ForbiddenError();
    c.get('userLimiter').take(`user:${principal.sub}`);
    c.set('principal', principal);
    c.set('caller', `user:${principal.sub}`);
    await next();
  });
}
