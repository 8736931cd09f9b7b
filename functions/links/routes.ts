import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { setCookie } from 'hono/cookie';
import type { Deps } from '#shared/deps';
import { getKolStats } from '#shared/domain/kol/get-kol-stats';
import { kolStatsQuerySchema, statsRange } from '#shared/domain/kol/kol-stats.schema';
import { createLink } from '#shared/domain/links/create-link';
import { type FollowInput, type FollowResult, followLink } from '#shared/domain/links/follow-link';
import { createLinkSchema } from '#shared/domain/links/link.schema';
import { listKolLinks } from '#shared/domain/links/list-kol-links';
import { recordClick } from '#shared/domain/links/record-click';
import { createShare } from '#shared/domain/shares/create-share';
import { getShareStats } from '#shared/domain/shares/get-share-stats';
import { createShareSchema, shareStatsQuerySchema } from '#shared/domain/shares/share.schema';
import { clientIp, createArea } from '#shared/http/app';
import { requireAuth } from '#shared/http/auth';
import { idempotency } from '#shared/http/idempotency';
import { verifyJwt } from '#shared/http/jwt';
import { bearerSecurity, jsonBody, jsonResponse, pageOf, pageQuery, problems } from '#shared/http/openapi';
import { callerDevice, deviceIdSchema, visitorCookie } from '#shared/http/via';
import { inBackground, onLambda, settleOwnerClicks } from './background.ts';

/** The visitor cookie lives 400 days, the most browsers keep one. */
const VISITOR_COOKIE_SECONDS = 400 * 24 * 3600;

const linkSchema = z
  .object({
    code: z.string(),
    url: z.string().describe('<PUBLIC_BASE_URL>/s/<code>'),
    targetUrl: z.string(),
    campaignId: z.string().optional(),
    channel: z.string().optional(),
    createdAt: z.string(),
  })
  .openapi('Link');
const kolLinkSchema = linkSchema
  .extend({
    clicks: z.number().int(),
    uniqueClicks: z
      .number()
      .int()
      .describe(
        'Clicks counted as unique: a click is unique unless the same visitor’s last unique click on this link was less than 30 min before',
      ),
  })
  .openapi('KolLink');
const shareSchema = z
  .object({
    shareId: z.string(),
    code: z.string(),
    url: z.string().describe('<PUBLIC_BASE_URL>/s/<code>: redirects to targetUrl'),
    targetUrl: z.string().describe('The object’s H5 page under H5_BASE_URL'),
    objectType: z.string(),
    objectId: z.string(),
    channel: z.string(),
    createdAt: z.string(),
  })
  .openapi('Share');
const shareStatsSchema = z
  .object({
    shares: z.number().int(),
    clicks: z.number().int(),
    uniqueVisitors: z.number().int(),
    conversions: z.number().int().describe('Distinct users who helped, joined or accepted after a click on a share'),
  })
  .openapi('ShareStats');
const kolDaySchema = z.object({
  date: z.string(),
  clicks: z.number().int(),
  uniqueVisitors: z.number().int(),
  conversions: z.number().int(),
  gmv: z.number().int(),
  commission: z.number().int(),
});
const kolStatsSchema = z
  .object({ days: z.array(kolDaySchema), totals: kolDaySchema.omit({ date: true }) })
  .openapi('KolStats');

export const linkRoutes = createArea();

// POST /v1/links — a KOL creates a tracked promotion link
linkRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/v1/links',
    tags: ['Links'],
    summary: 'Create a KOL promotion link',
    description:
      'The code is random (10 characters, ~49 bits), never sequential. `targetUrl` must be https (http only for localhost) on a host listed in ALLOWED_REDIRECT_HOSTS (exact, case-insensitive), without credentials; otherwise 400 `target_not_allowed`. With a commission `campaignId` the link earns commission under that campaign’s model and window; other campaigns and no campaign track clicks only. A named campaign must exist (404) and be active (409 `campaign_inactive`). The KOL’s `X-Device-Id` (hashed) and `fission_vid` are remembered, for the KOL over all their links: orders clicked from that device or browser, or by a buyer who sent it on an earlier request, are held.',
    security: bearerSecurity,
    middleware: [requireAuth('kol'), idempotency()] as const,
    request: {
      body: jsonBody(createLinkSchema),
      headers: z.object({
        'x-device-id': deviceIdSchema
          .optional()
          .describe(
            'The KOL’s device: orders from it, on any of the KOL’s links, are held as self-purchases (empty or blank: no device)',
          ),
      }),
    },
    responses: { 201: jsonResponse(linkSchema, 'The link'), ...problems(400, 401, 403, 404, 409, 422, 429) },
  }),
  async (c) => {
    const deps = c.get('deps');
    const device = callerDevice(c, c.req.valid('header')['x-device-id'], deps.config.attributionSecret);
    const [ownerDeviceHash] = device.devices;
    const [ownerVisitorId] = device.visitors;
    const link = await createLink(deps, {
      ...c.req.valid('json'),
      ownerId: c.get('principal').sub,
      ...(ownerDeviceHash ? { ownerDeviceHash } : {}),
      ...(ownerVisitorId ? { ownerVisitorId } : {}),
      ...(c.get('requestKey') ? { requestKey: c.get('requestKey') } : {}),
    });
    return c.json(link, 201);
  },
);

// GET /s/:code — follow a short link: count the click and redirect with an attribution token.
// The hottest route: documented from its schema but served as a plain route (followLink answers
// 404 for anything that is not a code), and answered before the API middleware (see createApp).
const followRoute = createRoute({
  method: 'get',
  path: '/s/{code}',
  tags: ['Links'],
  summary: 'Follow a short link',
  description:
    'Answers 302 to the target with `fission_ref=<token>` set last in its query (one the target had is replaced; the rest of the query and the fragment are kept as written) and `Cache-Control: no-store`. The token is HMAC-signed over (code, visitor, issued-at) and is honoured for the link’s attribution window (its commission campaign’s, else 7 days). The visitor is the `fission_vid` cookie (1–128 printable ASCII characters but space, `"`, `,`, `;`, `\\`, `%` and `~`, taken as sent; any other value is ignored); without one, a new random visitor id, set as the cookie (HttpOnly, SameSite=Lax, 400 days), so two people behind one address are two visitors. A click is unique unless the same visitor’s last unique click on the same link was less than 30 minutes before (the 30 minutes run from that counted click, so a visitor clicking every 20 minutes counts every 40); a click without a cookie is counted by a keyed hash of IP + User-Agent instead (the IP is API Gateway’s source IP; on the local server, the first `X-Forwarded-For` address when there is one; raw IPs are never stored), so a browser that keeps no cookies is not a new unique visitor on every click. Known bots (by User-Agent) and HEAD requests are redirected to the target as it is (no `fission_ref`, no cookie) and not counted, so nothing can credit a visit that was never counted. An optional bearer token also records the click under that user for attribution. Unknown code → 404.',
  request: { params: z.object({ code: z.string() }) },
  responses: {
    302: {
      description: 'Redirect to the target',
      headers: z.object({
        Location: z
          .string()
          .describe('targetUrl with fission_ref added (for bots and HEADs, targetUrl without any fission_ref)'),
        'Cache-Control': z.literal('no-store'),
        'Set-Cookie': z
          .string()
          .optional()
          .describe(
            'The `fission_vid` visitor cookie (HttpOnly, SameSite=Lax, Path=/, 400 days; Secure when PUBLIC_BASE_URL is https), when the request had none (never for bots and HEADs)',
          ),
      }),
    },
    ...problems(404),
  },
});
linkRoutes.openAPIRegistry.registerPath(followRoute);
linkRoutes.get('/s/:code', async (c) => {
  const deps = c.get('deps');
  const result = await followLink(deps, followInput(c, deps));
  if (result.click) {
    const work = recordClick(deps, result.click).catch((error) =>
      deps.log.error('click not recorded', { error: error as Error }),
    );
    if (onLambda(c)) await work;
    // A stats read of the link's owner waits for it; an order or action of the visitor has its history
    // written at once instead (writePendingHistory).
    else await inBackground(work, undefined, [`o:${result.click.link.ownerId}`]);
  }
  return redirectTo(c, deps, result);
});

/** What `GET /s/{code}` tells followLink: the code, the visitor's cookie, IP, User-Agent, device and signed-in user. */
export function followInput(c: Context, deps: Pick<Deps, 'config' | 'clock'>): FollowInput {
  return {
    code: c.req.param('code') ?? '',
    cookie: visitorCookie(c),
    ip: visitorIp(c),
    userAgent: c.req.header('user-agent'),
    deviceId: c.req.header('x-device-id'),
    userId: optionalUser(c.req.header('authorization'), deps),
    head: c.req.method === 'HEAD',
  };
}

/** The redirect's answer: the 302 with `Cache-Control: no-store`, and the visitor cookie when there was none. */
export function redirectTo(c: Context, deps: Pick<Deps, 'config'>, result: FollowResult): Response {
  if (result.newCookie)
    setCookie(c, 'fission_vid', result.newCookie, {
      httpOnly: true,
      sameSite: 'Lax',
      path: '/',
      maxAge: VISITOR_COOKIE_SECONDS,
      secure: deps.config.PUBLIC_BASE_URL.startsWith('https:'),
    });
  c.header('Cache-Control', 'no-store');
  return c.redirect(result.location, 302);
}

/**
 * The address a visitor without a cookie is known by (hashed): API Gateway's source IP on Lambda.
 * The local server, often reached through a tunnel or dev proxy, takes the first address of
 * `X-Forwarded-For` when there is one: a client choosing it only chooses its own visitor id, as
 * it could with the cookie or its User-Agent (rate limits keep the socket's address).
 */
function visitorIp(c: Context): string {
  if (onLambda(c)) return clientIp(c);
  const forwarded = c.req.header('x-forwarded-for')?.split(',')[0]?.trim();
  return forwarded && forwarded.length <= 64 ? forwarded : clientIp(c);
}

/** The signed-in user of a redirect, when it carries a valid bearer token (anything else: anonymous). */
function optionalUser(authorization: string | undefined, deps: Pick<Deps, 'config' | 'clock'>): string | undefined {
  const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  if (!m) return undefined;
  try {
    return verifyJwt(m[1]!, {
      secret: deps.config.JWT_SECRET,
      issuer: deps.config.JWT_ISSUER,
      audience: deps.config.JWT_AUDIENCE,
      nowSeconds: Math.floor(deps.clock.now() / 1000),
    }).sub;
  } catch {
    return undefined;
  }
}

// POST /v1/shares — a user makes a tracked link to an object's H5 page
linkRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/v1/shares',
    tags: ['Shares'],
    summary: 'Share an object with a tracked link',
    description:
      'Makes a short link (owned by the caller) to the object’s H5 page: `<H5_BASE_URL>/bargains/<id>`, `/group-buys/<id>`, `/invites/<code>` or `/products/<id>` (H5_BASE_URL defaults to `<PUBLIC_BASE_URL>/h5`). A bargain chain, group buy or invite code that does not exist → 404 `not_found` (a product id is the shop’s and is not checked). Each call is a new share; stats add up over all of the caller’s shares of the object. A help, join or invite acceptance on the same object by someone who came through the link (its `fission_ref`, or their `fission_vid` click) counts once per acting user as a conversion.',
    security: bearerSecurity,
    middleware: [requireAuth('user'), idempotency()] as const,
    request: { body: jsonBody(createShareSchema) },
    responses: { 201: jsonResponse(shareSchema, 'The share'), ...problems(400, 401, 403, 404, 422, 429) },
  }),
  async (c) => {
    const requestKey = c.get('requestKey');
    const input = { ...c.req.valid('json'), ownerId: c.get('principal').sub, ...(requestKey ? { requestKey } : {}) };
    return c.json(await createShare(c.get('deps'), input), 201);
  },
);

// GET /v1/shares/stats — the caller's shares of one object, summed
linkRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/v1/shares/stats',
    tags: ['Shares'],
    summary: 'Stats of my shares of an object',
    description:
      'Owner only: an object the caller never shared answers 404. `uniqueVisitors` counts distinct visitors over all the caller’s shares of the object (a visitor by their `fission_vid`, kept 400 days; one without a cookie by IP + User-Agent hash, for a day). Clicks answered before this request are all counted (the local server waits up to 20 s for them to be written).',
    security: bearerSecurity,
    middleware: [requireAuth('user')] as const,
    request: { query: shareStatsQuerySchema },
    responses: { 200: jsonResponse(shareStatsSchema, 'The stats'), ...problems(400, 401, 403, 404, 429) },
  }),
  async (c) => {
    const ownerId = c.get('principal').sub;
    await settleOwnerClicks(ownerId);
    return c.json(await getShareStats(c.get('deps'), { ...c.req.valid('query'), ownerId }), 200);
  },
);

// GET /v1/kol/links — the calling KOL's links with click totals
linkRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/v1/kol/links',
    tags: ['KOL'],
    summary: 'My links',
    description:
      'Newest first. Click totals are summed from the link’s 16 counter shards, and include every click answered before this request (the local server waits up to 20 s for them to be written).',
    security: bearerSecurity,
    middleware: [requireAuth('kol')] as const,
    request: { query: z.object(pageQuery) },
    responses: { 200: jsonResponse(pageOf(kolLinkSchema), 'A page of links'), ...problems(400, 401, 403, 429) },
  }),
  async (c) => {
    const q = c.req.valid('query');
    const ownerId = c.get('principal').sub;
    await settleOwnerClicks(ownerId);
    return c.json(
      await listKolLinks(c.get('deps'), {
        ownerId,
        limit: q.limit,
        ...(q.cursor ? { cursor: q.cursor } : {}),
      }),
      200,
    );
  },
);

// GET /v1/kol/stats — the calling KOL's figures per UTC day
linkRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/v1/kol/stats',
    tags: ['KOL'],
    summary: 'My daily stats',
    description:
      'Every UTC day from `from` to `to` (YYYY-MM-DD, or an ISO-8601 UTC time standing for its day; both included, `from` ≤ `to`, at most 366 days; else 400; without `to`, today; without `from`, the 30 days ending at `to`), zeros included, read from pre-aggregated day items. `clicks` counts the day’s clicks on the KOL’s links and `uniqueVisitors` the distinct visitors who clicked any of them that day (a visitor by their `fission_vid`; one without a cookie by IP + User-Agent hash; `totals` sums the days), bots excluded; `conversions`, `gmv` and `commission` count attributed orders on the day they were paid; refunds subtract their commission reversal on the day of the refund (`gmv` stays gross). Clicks answered before this request are all counted (the local server waits up to 20 s for them to be written); orders count once their `OrderAttributed` event is delivered.',
    security: bearerSecurity,
    middleware: [requireAuth('kol')] as const,
    request: { query: kolStatsQuerySchema },
    responses: { 200: jsonResponse(kolStatsSchema, 'Stats per day and totals'), ...problems(400, 401, 403, 429) },
  }),
  async (c) => {
    const kolId = c.get('principal').sub;
    const deps = c.get('deps');
    const range = statsRange(c.req.valid('query'), deps.clock.now());
    await settleOwnerClicks(kolId);
    return c.json(await getKolStats(deps, { ...range, kolId }), 200);
  },
);
