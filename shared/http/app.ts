import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { createMiddleware } from 'hono/factory';
import type { Deps } from '../deps.ts';
import { NotFoundError, ValidationError } from '../errors.ts';
import { newId } from '../ids.ts';
import type { AppEnv, AreaApp } from './context.ts';
import { errorToResponse, isCutOff, problemOf, problemResponse, zodIssues } from './problem.ts';
import { RateLimiter } from './rate-limit.ts';

/** Largest request body accepted (bytes). */
const MAX_BODY_BYTES = 64 * 1024;

/**
 * A new area router: validation failures become 400 `validation_failed` problem documents, except
 * in the path: its parameters are ids and codes the server made, so one that could never be valid
 * names nothing (404 `not_found`, as an unknown one does).
 */
export function createArea(): AreaApp {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (result.success) return;
      if (result.target === 'param') throw new NotFoundError();
      throw new ValidationError('The request is not valid.', zodIssues(result.error));
    },
  });
}

/** The client's address: API Gateway's source IP on Lambda, the socket's locally. */
export function clientIp(c: { env: unknown }): string {
  const env = c.env as {
    event?: { requestContext?: { http?: { sourceIp?: string } } };
    incoming?: { socket?: { remoteAddress?: string } };
  };
  return env?.event?.requestContext?.http?.sourceIp ?? env?.incoming?.socket?.remoteAddress ?? 'unknown';
}

/**
 * The short-link redirect (`GET /s/{code}`): a browser navigation answered with a 302, and the
 * hottest path there is. It needs none of the API's request ids, CORS or limits, so it skips them.
 */
const isRedirect = (path: string) => path.startsWith('/s/');

/**
 * Logs an answer: a 5xx at ERROR, any other only at DEBUG (its line built only then). A 5xx whose
 * client had gone before it (`cutOff`: the connection closed, as a stop closes the connections of
 * requests still under way) was never an answer: WARN.
 */
function logAnswer(
  deps: Deps,
  message: string,
  status: number,
  cutOff: boolean,
  line: () => Record<string, unknown>,
): void {
  if (status >= 500 && cutOff) deps.log.warn(message, { ...line(), status, cutOff });
  else if (status >= 500) deps.log.error(message, { ...line(), status });
  else if (deps.log.getLevelName() === 'DEBUG') deps.log.debug(message, { ...line(), status });
}

/**
 * The whole HTTP app for a set of areas: request ids, structured logs, the per-IP rate limit,
 * body limits and the one error handler. Used by each area's Lambda and by the local server.
 */
export function createApp(deps: Deps, mount: (app: AreaApp) => void): AreaApp {
  const app = createArea();
  const ipLimiter = new RateLimiter(deps.config.RATE_LIMIT_IP_PER_SEC, () => deps.clock.now());
  const userLimiter = new RateLimiter(deps.config.RATE_LIMIT_USER_PER_SEC, () => deps.clock.now());

  app.use(
    '*',
    createMiddleware<AppEnv>(async (c, next) => {
      c.set('deps', deps);
      if (isRedirect(c.req.path)) {
        await next();
        logAnswer(deps, 'redirect', c.res.status, isCutOff(c), () => ({ method: c.req.method, path: c.req.path }));
        return;
      }
      c.set('arrivedAt', deps.clock.now());
      const requestId = newId('req');
      c.set('requestId', requestId);
      c.set('userLimiter', userLimiter);
      const started = performance.now();
      try {
        await next();
      } finally {
        c.header('x-request-id', requestId);
        logAnswer(deps, 'request', c.res.status, isCutOff(c), () => ({
          requestId,
          method: c.req.method,
          path: c.req.path,
          ms: Math.round(performance.now() - started),
        }));
      }
    }),
  );
  const corsMw = cors({
    origin: deps.config.CORS_ORIGINS.length ? deps.config.CORS_ORIGINS : '*',
    allowHeaders: [
      'authorization',
      'content-type',
      'idempotency-key',
      'x-device-id',
      'x-fission-ref',
      'x-fission-visitor',
      'x-requested-with',
      'x-request-id',
    ],
    exposeHeaders: ['retry-after', 'idempotent-replayed', 'x-request-id', 'location'],
    maxAge: 600,
  });
  app.use('*', (c, next) => (isRedirect(c.req.path) ? next() : corsMw(c, next)));
  // After CORS, so a 429 carries its headers and a browser can read it; a preflight (answered by
  // CORS above) is never limited.
  app.use('/v1/*', (c, next) => {
    ipLimiter.take(`ip:${clientIp(c)}`);
    return next();
  });
  const limitBody = bodyLimit({
    maxSize: MAX_BODY_BYTES,
    // The rest of the body is not read: the connection closes after the answer, and says so.
    onError: () =>
      problemResponse(problemOf(400, 'validation_failed', 'Request body is too large (64 KiB at most).'), {
        connection: 'close',
      }),
  });
  // GET and HEAD carry no body; asking for one would build a full Request on every redirect.
  app.use('*', (c, next) =>
    c.req.method === 'GET' || c.req.method === 'HEAD'
      ? next()
      : limitBody(c, async () => {
          await strictUtf8(c, next);
        }),
  );
  app.onError((err, c) => errorToResponse(err, c));
  app.notFound(() => problemResponse(problemOf(404, 'not_found', 'No such route.')));
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      'HS256 JWT. Claims: `sub` (the user id: 1–128 characters, not blank, no control characters), `roles` (array of `user`, `kol`, `admin`, `finance`; others are ignored), `iss` and `aud` as configured (JWT_ISSUER, JWT_AUDIENCE), `exp` (seconds), optional `nbf`, optional `name` (display name, cut to 64 characters). Any other algorithm, a bad signature, or a missing or malformed required claim → 401 `unauthorized`.',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'webhookSignature', {
    type: 'apiKey',
    in: 'header',
    name: 'X-Fission-Signature',
    description: 'sha256=<hex HMAC-SHA256 of "<X-Fission-Timestamp>.<raw body>" with WEBHOOK_SECRET>',
  });
  mount(app);
  return app;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads the body as strict UTF-8 (RFC 8259: JSON is UTF-8): one that is not is malformed (400
 * `validation_failed`) wherever it is read, never taken with U+FFFD in place of its bytes.
 */
const strictUtf8 = createMiddleware<AppEnv>(async (c, next) => {
  const text = c.req.arrayBuffer().then((bytes) => {
    try {
      return utf8.decode(bytes);
    } catch {
      throw new ValidationError('The body is not UTF-8.');
    }
  });
  text.catch(() => {}); // a request refused before its body is read must not leave an unhandled rejection
  // Hono keeps the body's readings as promises in bodyCache; json() parses this one.
  (c.req.bodyCache as { text?: Promise<string> }).text = text;
  await next();
});

/** For actions that take no body: an empty body or `{}` only. */
export const noBody = createMiddleware<AppEnv>(async (c, next) => {
  const raw = (await c.req.text()).trim();
  if (raw !== '' && raw !== '{}') {
    let ok = false;
    try {
      const v = JSON.parse(raw);
      ok = v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0;
    } catch {
      ok = false;
    }
    if (!ok)
      throw new ValidationError('This action takes no body.', [{ path: '(body)', message: 'must be empty or {}' }]);
  }
  await next();
});
