import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Deps } from '../deps.ts';
import type { Principal } from './jwt.ts';
import type { RateLimiter } from './rate-limit.ts';

/** Hono environment shared by every route. */
export type AppEnv = {
  Variables: {
    deps: Deps;
    requestId: string;
    principal: Principal;
    /** Caller scope for idempotency: the user id, `shop` for webhooks. */
    caller: string;
    userLimiter: RateLimiter;
  };
};

export type AreaApp = OpenAPIHono<AppEnv>;
