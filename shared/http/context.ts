import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Deps } from '../deps.ts';
import type { Principal } from './jwt.ts';
import type { RateLimiter } from './rate-limit.ts';

/** Hono environment shared by every route. */
export type AppEnv = {
  Variables: {
    deps: Deps;
    requestId: string;
    /** When the app took the request (the clock's milliseconds), before any middleware or turn. */
    arrivedAt: number;
    principal: Principal;
    /** Caller scope for idempotency: the user id, `shop` for webhooks. */
    caller: string;
    userLimiter: RateLimiter;
    /**
     * Set when the request carries an Idempotency-Key: a digest of caller, route and key, the same
     * for every attempt. Creates derive their ids from it, so a retry after a crash (the answer lost,
     * the effect made) finds what the first attempt made.
     */
    requestKey?: string;
  };
};

export type AreaApp = OpenAPIHono<AppEnv>;
