import { createRoute, z } from '@hono/zod-openapi';
import { getGroup } from '#shared/domain/group-buys/get-group';
import { FAIL_REASONS, joinGroupSchema, openGroupSchema } from '#shared/domain/group-buys/group-buy.schema';
import { joinGroup } from '#shared/domain/group-buys/join-group';
import { leaveGroup } from '#shared/domain/group-buys/leave-group';
import { listOpenGroups } from '#shared/domain/group-buys/list-open-groups';
import { openGroupOnce } from '#shared/domain/group-buys/open-group';
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
import { VIA_DOC } from '#shared/http/via';
import { settledVia } from '../links/background.ts';

const status = z
  .enum(['open', 'formed', 'failed'])
  .describe(
    'open → formed | failed. Past expiresAt an open group reads as failed (formed with autoFillOnExpiry) at once, before the sweeper closes it.',
  );

const groupSchema = z
  .object({
    id: z.string(),
    campaignId: z.string(),
    leaderId: z.string().describe('The leader’s user id (the only user id a group shows)'),
    status,
    groupSize: z.number().int(),
    memberCount: z
      .number()
      .int()
      .describe('Members so far, simulated ones included (see simulatedCount); never exceeds groupSize'),
    slotsLeft: z.number().int().describe('groupSize - memberCount while open, else 0'),
    simulatedCount: z
      .number()
      .int()
      .describe(
        'Simulated members added by autoFillOnExpiry; they have no user and no order and are never counted as real users',
      ),
    expiresAt: z
      .string()
      .describe('durationSeconds after opening (each group has its own timer), or the campaign’s endsAt if sooner'),
    shareUrl: z.string().describe('The H5 group page to share: <H5_BASE_URL>/group-buys/<id>'),
    sku: z.string(),
    originalPrice: z.number().int(),
    groupPrice: z.number().int(),
    leaderPrice: z.number().int().optional(),
    createdAt: z.string(),
    formedAt: z.string().optional(),
    failedAt: z.string().optional(),
    failReason: z
      .enum(FAIL_REASONS)
      .optional()
      .describe(
        "expired: not filled by expiresAt; leader_refunded: the leader's order was fully refunded while open; campaign_ended: open when an admin ended its campaign (PATCH), which closes its open groups at the sweeper’s next round after 2 s (within seconds locally, about a minute on AWS); leader_order_of_another_user: the shop reported the leader's order paid by another user while the group was open",
      ),
  })
  .openapi('GroupBuy');

const groupPageSchema = groupSchema
  .extend({
    members: z
      .array(
        z.object({
          displayName: z
            .string()
            .optional()
            .describe('Masked display name (张*, A***); absent when the token had no name'),
          joinedAt: z.string(),
          isLeader: z.boolean(),
          simulated: z.boolean(),
        }),
      )
      .describe('Leader first, then by join time, then simulated members. No user ids.'),
    viewer: z.object({ isMember: z.boolean(), isLeader: z.boolean() }).describe('What the caller is to this group'),
  })
  .openapi('GroupBuyPage');

const joinResultSchema = z
  .object({ groupId: z.string(), memberCount: z.number().int(), status })
  .openapi('GroupBuyJoin');

const idParam = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: 'id', in: 'path' } }),
});

const listQuery = z.object({
  campaignId: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: 'campaignId', in: 'query', required: true } }),
  status: z
    .enum(['open'])
    .default('open')
    .openapi({ param: { name: 'status', in: 'query' }, description: 'Only joinable (open) groups are listed' }),
  ...pageQuery,
});

/** Whose order a group is opened or joined with. */
const ORDER_DOC =
  'The order must be the caller’s: one the shop reported paid (POST /v1/orders/paid) for another user, or one in another user’s group, answers 404 not_found; one it reported refunded in full answers 409 conflict. An order the shop has not reported yet is taken as the caller’s until it is: a paid webhook naming another buyer takes it out of the group while the group is open (a group it leads fails with `leader_order_of_another_user`; a member with it is taken out, GroupBuyLeft reason `order_of_another_user`).';

export const groupBuyRoutes = createArea();

// POST /v1/group-buys — open a group as its leader
groupBuyRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/v1/group-buys',
    tags: ['Group buys'],
    summary: 'Open a group (the caller is leader and first member)',
    description:
      'Opens a group in an active group_buy campaign with the caller as leader, paying leaderPrice where the campaign sets one. ' +
      'The group expires durationSeconds from now, or at the campaign’s endsAt if that is sooner. A user may lead at most maxOpenGroupsPerUser open groups per campaign ' +
      '(409 too_many_open_groups); groups past expiry no longer count. ' +
      ORDER_DOC +
      ' An order belongs to at most one group (409 conflict when it is in another group of the caller’s); ' +
      'the same leader opening again in the same campaign on the same order gets that group back with 200 (a repeat), or 201 when it is a retry with the Idempotency-Key of the open that made it, after its answer was lost. ' +
      'A campaign that is scheduled, paused or ended → 409 campaign_inactive. ' +
      "If the leader's order is fully refunded (POST /v1/orders/refunded) before the group forms, the group fails " +
      "(failReason leader_refunded) in the refund's own write, so a join after the refund gets 410 group_closed " +
      "and a group that formed first stays formed; GroupBuyFailed lists every other member's order to refund.",
    security: bearerSecurity,
    middleware: [requireAuth('user'), idempotency()] as const,
    request: { body: jsonBody(openGroupSchema) },
    responses: {
      201: jsonResponse(groupSchema, 'The new group'),
      200: jsonResponse(groupSchema, 'The group this leader already opened on this order'),
      ...problems(400, 401, 403, 404, 409, 422, 429),
    },
  }),
  async (c) => {
    const p = c.get('principal');
    const r = await openGroupOnce(c.get('deps'), {
      ...c.req.valid('json'),
      userId: p.sub,
      name: p.name,
      ...(c.get('requestKey') ? { requestKey: c.get('requestKey') } : {}),
    });
    return r.created ? c.json(r.group, 201) : c.json(r.group, 200);
  },
);

// GET /v1/group-buys — joinable groups of a campaign
groupBuyRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/v1/group-buys',
    tags: ['Group buys'],
    summary: 'List joinable groups of a campaign',
    description:
      'Open groups of the campaign ordered by fewest open slots first, then soonest expiresAt, then id (from an index, no scans). ' +
      'Groups past expiresAt are left out even before the sweeper closes them. A campaign that is not active lists none; ' +
      'an unknown campaign is 404. Any signed-in caller may list.',
    security: bearerSecurity,
    middleware: [requireAuth()] as const,
    request: { query: listQuery },
    responses: { 200: jsonResponse(pageOf(groupSchema), 'A page of joinable groups'), ...problems(400, 401, 404, 429) },
  }),
  async (c) => {
    const q = c.req.valid('query');
    return c.json(await listOpenGroups(c.get('deps'), q), 200);
  },
);

// GET /v1/group-buys/:id — the group page
groupBuyRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/v1/group-buys/{id}',
    tags: ['Group buys'],
    summary: 'Get a group with its members',
    description:
      'Any signed-in caller may view a group (it is what shareUrl opens). Members show masked display names only, never ' +
      'user ids; simulated members are flagged. Past expiresAt the status is failed (formed with autoFillOnExpiry, the ' +
      'simulated members shown) at once.',
    security: bearerSecurity,
    middleware: [requireAuth()] as const,
    request: { params: idParam },
    responses: { 200: jsonResponse(groupPageSchema, 'The group'), ...problems(401, 404, 429) },
  }),
  async (c) =>
    c.json(await getGroup(c.get('deps'), { groupId: c.req.valid('param').id, viewerId: c.get('principal').sub }), 200),
);

// POST /v1/group-buys/:id/members — join a group
groupBuyRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/v1/group-buys/{id}/members',
    tags: ['Group buys'],
    summary: 'Join a group',
    description:
      'Joins at groupPrice. Under any concurrency memberCount never exceeds groupSize and equals the number of members; ' +
      'the join that fills the last slot makes the group formed in the same write and emits GroupBuyFormed with every ' +
      "member's orderId and price. 409 already_member: the caller is in the group (a retry carrying the Idempotency-Key of the join that made the caller a member answers 201 with that join's answer again (the member count it wrote), even once the key’s record was lost in a crash). 409 group_full: the last slot went to " +
      'another join after this one arrived (it lost the race for the last slot, also to a filling join whose write was still under way). 410 group_closed: the group was formed ' +
      'before this join arrived, has failed, or is past expiresAt. 409 campaign_inactive: the campaign is paused or ended, checked before the group’s own state (a group that failed at its campaign’s endsAt answers this, not 410). 409 conflict: the order already belongs to another group of the caller’s. ' +
      ORDER_DOC +
      '\n\n' +
      VIA_DOC,
    security: bearerSecurity,
    middleware: [requireAuth('user'), idempotency()] as const,
    request: { params: idParam, body: jsonBody(joinGroupSchema) },
    responses: {
      201: jsonResponse(joinResultSchema, 'Joined; status is formed when this join filled the group'),
      ...problems(400, 401, 403, 404, 409, 410, 422, 429),
    },
  }),
  async (c) => {
    const p = c.get('principal');
    const r = await joinGroup(c.get('deps'), {
      ...c.req.valid('json'),
      groupId: c.req.valid('param').id,
      userId: p.sub,
      name: p.name,
      via: await settledVia(c),
      arrivedMs: c.get('arrivedAt'),
      ...(c.get('requestKey') ? { requestKey: c.get('requestKey') } : {}),
    });
    return c.json(r, 201);
  },
);

// DELETE /v1/group-buys/:id/members/me — leave a group
groupBuyRoutes.openapi(
  createRoute({
    method: 'delete',
    path: '/v1/group-buys/{id}/members/me',
    tags: ['Group buys'],
    summary: 'Leave an open group (the order was cancelled)',
    description:
      'A member who is not the leader leaves an open group: the slot opens again (GroupBuyLeft, reason left). A full refund ' +
      'of the member’s order (POST /v1/orders/refunded) while the group is open does the same in the refund’s own write ' +
      '(GroupBuyLeft, reason order_refunded); a group that formed first keeps the member. The leader may not ' +
      'leave (403 forbidden); a caller who is not a member gets 404; a formed, failed or expired group answers 410 ' +
      'group_closed. Leaving works while the campaign is paused too: a pause stops new groups and joins, and never ' +
      'holds a member in a group they want to leave. On a group whose members change faster than a leave can be ' +
      'written (over a hundred tries), 409 conflict: try again. No body.',
    security: bearerSecurity,
    middleware: [requireAuth('user'), noBody] as const,
    ...noRequestBody,
    request: { params: idParam },
    responses: { 204: { description: 'Left the group' }, ...problems(400, 401, 403, 404, 409, 410, 429) },
  }),
  async (c) => {
    await leaveGroup(c.get('deps'), { groupId: c.req.valid('param').id, userId: c.get('principal').sub });
    return c.body(null, 204);
  },
);
