import { createRoute, z } from '@hono/zod-openapi';
import { acceptInvite } from '#shared/domain/invites/accept-invite';
import { describeInvite } from '#shared/domain/invites/describe-invite';
import { getInviteCode } from '#shared/domain/invites/get-invite-code';
import { BINDING_STATUSES, createInviteSchema } from '#shared/domain/invites/invite.schema';
import { listMyInvites } from '#shared/domain/invites/list-my-invites';
import { createArea, noBody } from '#shared/http/app';
import { requireAuth } from '#shared/http/auth';
import { idempotency } from '#shared/http/idempotency';
import {
  bearerSecurity,
  jsonBody,
  jsonResponse,
  noRequestBody,
  pageOf,
  pageQuery,
  problems,
} from '#shared/http/openapi';
import { callerDevice, deviceIdSchema, VIA_DOC } from '#shared/http/via';
import { settledVia } from '../links/background.ts';

const inviteCodeSchema = z
  .object({
    code: z.string().describe('Short code from an unambiguous alphabet (no 0/o, 1/l/i), random, not sequential'),
    url: z.string().describe('The invite H5 page: `<H5_BASE_URL>/invites/<code>`'),
    campaignId: z.string(),
    inviterId: z.string(),
    createdAt: z.string(),
  })
  .openapi('InviteCode');
const inviteDescriptionSchema = z
  .object({
    code: z.string(),
    campaignId: z.string(),
    inviter: z.object({
      displayName: z.string().optional().describe('The inviter’s JWT `name`, masked (`张*`, `A****`)'),
    }),
  })
  .openapi('InviteDescription');
const acceptedInviteSchema = z
  .object({
    inviteId: z.string(),
    campaignId: z.string(),
    inviterId: z.string(),
    inviteeId: z.string(),
    status: z.literal('accepted'),
    acceptedAt: z.string(),
  })
  .openapi('AcceptedInvite');
const myInviteSchema = z
  .object({
    inviteId: z.string(),
    inviteeId: z.string(),
    status: z
      .enum(BINDING_STATUSES)
      .describe(
        '`pending`: waiting for the invitee’s first paid order; `qualified`: InviteQualified emitted; ' +
          '`ineligible`: the invitee had paid an order before accepting (not a new user), no reward',
      ),
    acceptedAt: z.string(),
    qualifiedAt: z.string().optional(),
    rewarded: z
      .boolean()
      .describe(
        'Qualified within maxRewardedInvitesPerInviter while the campaign was active (rewards may still be held); ' +
          'a first order paid while the campaign was not active (paused, ended, outside its dates: its status at ' +
          '`paidAt`) qualifies without reward',
      ),
    held: z.boolean().describe('Its rewards wait for finance’s review instead of being paid'),
    heldFor: z
      .array(z.enum(['same_device', 'mutual_invite']))
      .optional()
      .describe('Why: both sides sent the same X-Device-Id, or the two users accepted each other’s codes'),
  })
  .openapi('MyInvite');

const codeParam = z.object({
  code: z
    .string()
    .min(1)
    .max(64)
    .describe('The invite code, in any letter case (codes are lowercase; a user may type one in capitals)'),
});
const deviceHeader = z.object({
  'x-device-id': deviceIdSchema
    .optional()
    .describe(
      'Device signal: the same device on both sides of an invite (this request’s, or one either user sent before) holds the reward for review (empty or blank: no device)',
    ),
});

export const inviteRoutes = createArea();

// POST /v1/invites — get (or create) the caller's invite code in a campaign
inviteRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/v1/invites',
    tags: ['Invites'],
    summary: 'Get my invite code for a campaign',
    description:
      'One stable code per user and campaign: 201 when created (and for a retry with the Idempotency-Key of the request that made it, after its answer was lost), 200 with the same code on every later call ' +
      '(concurrent first calls all get the one code that was stored). The JWT `name` (shown masked on the ' +
      'public page) is recorded when the code is created; every `X-Device-Id` and `fission_vid` cookie the caller sends ' +
      '(up to 50 of each per user, over all campaigns) is kept for the same-device checks of accepts and orders. 404 for no such invite ' +
      'campaign, 409 `campaign_inactive` when it is not active.',
    security: bearerSecurity,
    middleware: [requireAuth('user'), idempotency()] as const,
    request: { body: jsonBody(createInviteSchema), headers: deviceHeader },
    responses: {
      200: jsonResponse(inviteCodeSchema, 'The code the caller already had'),
      201: jsonResponse(inviteCodeSchema, 'A new code'),
      ...problems(400, 401, 403, 404, 409, 422, 429),
    },
  }),
  async (c) => {
    const principal = c.get('principal');
    const deps = c.get('deps');
    const deviceId = c.req.valid('header')['x-device-id'];
    const { invite, created } = await getInviteCode(deps, {
      campaignId: c.req.valid('json').campaignId,
      inviterId: principal.sub,
      ...(principal.name ? { inviterName: principal.name } : {}),
      device: callerDevice(c, deviceId, deps.config.attributionSecret),
      ...(c.get('requestKey') ? { requestKey: c.get('requestKey') } : {}),
    });
    return created ? c.json(invite, 201) : c.json(invite, 200);
  },
);

// GET /v1/invites/mine — the caller's invitees in a campaign
inviteRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/v1/invites/mine',
    tags: ['Invites'],
    summary: 'List the people I invited in a campaign',
    description: 'Newest first; `limit` (1–100, default 20) and `cursor` page through them.',
    security: bearerSecurity,
    middleware: [requireAuth('user')] as const,
    request: {
      query: z.object({
        campaignId: z
          .string()
          .min(1)
          .max(64)
          .openapi({ param: { name: 'campaignId', in: 'query' } }),
        ...pageQuery,
      }),
    },
    responses: { 200: jsonResponse(pageOf(myInviteSchema), 'My invitees'), ...problems(400, 401, 403, 429) },
  }),
  async (c) => {
    const q = c.req.valid('query');
    return c.json(
      await listMyInvites(c.get('deps'), {
        inviterId: c.get('principal').sub,
        campaignId: q.campaignId,
        limit: q.limit,
        ...(q.cursor ? { cursor: q.cursor } : {}),
      }),
      200,
    );
  },
);

// GET /v1/invites/:code — the public invite page's data
inviteRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/v1/invites/{code}',
    tags: ['Invites'],
    summary: 'Describe an invite code (public)',
    description: 'No authentication. Shows the campaign and the inviter’s masked display name, never a user id.',
    request: { params: codeParam },
    responses: { 200: jsonResponse(inviteDescriptionSchema, 'The invite'), ...problems(404, 429) },
  }),
  async (c) => c.json(await describeInvite(c.get('deps'), c.req.valid('param').code), 200),
);

// POST /v1/invites/:code/accept — bind the caller to the code's inviter
inviteRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/v1/invites/{code}/accept',
    tags: ['Invites'],
    summary: 'Accept an invite (no body)',
    description:
      'Binds the caller to the inviter: one inviter per invitee and campaign, the first accept wins; any later ' +
      'accept in that campaign → 409 `already_invited` (a retry carrying the Idempotency-Key of the accept that ' +
      'bound the caller answers that accept again, 201, even once the key’s record was lost in a crash). Own code → 403 `self_invite_forbidden`; unknown code → ' +
      '404; campaign not active → 409 `campaign_inactive`. `signup` campaigns qualify at once ' +
      '(InviteQualified); `first_order` campaigns qualify on the invitee’s first paid order. The binding is ' +
      'always recorded, but earns no reward when the inviter is past `maxRewardedInvitesPerInviter` or when the ' +
      'invitee had already paid an order before accepting (not a new user: its paid webhook arrived before the accept, ' +
      'whatever its `paidAt`; or, in a `first_order` campaign, it is the first paid webhook after the accept and carries a `paidAt` ' +
      'more than 5 minutes before the accept, the shop’s clock skew allowed for, as an order paid just after the accept may carry a ' +
      'slightly earlier time). A binding is settled once (at the accept in a `signup` campaign, on the first paid webhook after it ' +
      'in a `first_order` one): a paid webhook arriving after that, whatever its `paidAt`, leaves its reward as it is. The same device on both ' +
      'sides (an `X-Device-Id` or `fission_vid` cookie of this accept, or one either side sent on an earlier invite code, accept or link, in any campaign), or a mutual invite (the caller accepts the code of someone who accepted theirs), records it ' +
      'with the rewards held for review (`heldFor` on the binding says why).\n\n' +
      VIA_DOC,
    security: bearerSecurity,
    middleware: [requireAuth('user'), idempotency(), noBody] as const,
    ...noRequestBody,
    request: { params: codeParam, headers: deviceHeader },
    responses: {
      201: jsonResponse(acceptedInviteSchema, 'The binding'),
      ...problems(400, 401, 403, 404, 409, 422, 429),
    },
  }),
  async (c) => {
    const deps = c.get('deps');
    const deviceId = c.req.valid('header')['x-device-id'];
    const via = await settledVia(c);
    return c.json(
      await acceptInvite(deps, {
        code: c.req.valid('param').code,
        inviteeId: c.get('principal').sub,
        ...(deviceId ? { deviceId } : {}),
        device: callerDevice(c, deviceId, deps.config.attributionSecret),
        ...(via ? { via } : {}),
        ...(c.get('requestKey') ? { requestKey: c.get('requestKey') } : {}),
      }),
      201,
    );
  },
);
