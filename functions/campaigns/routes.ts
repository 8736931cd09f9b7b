import { createRoute, z } from '@hono/zod-openapi';
import {
  CAMPAIGN_TYPES,
  campaignRulesAnswerSchema,
  createCampaignSchema,
  RULES_SCHEMA_NAMES,
  rulesByType,
  rulesByTypeDoc,
  updateCampaignSchema,
} from '#shared/domain/campaigns/campaign.schema';
import { createCampaign } from '#shared/domain/campaigns/create-campaign';
import { getCampaign } from '#shared/domain/campaigns/get-campaign';
import { setCampaignStatus } from '#shared/domain/campaigns/set-campaign-status';
import { createArea } from '#shared/http/app';
import { requireAuth } from '#shared/http/auth';
import { idempotency } from '#shared/http/idempotency';
import { bearerSecurity, jsonBody, jsonResponse, problems } from '#shared/http/openapi';

const campaignSchema = z
  .object({
    id: z.string(),
    type: z.enum(['bargain', 'group_buy', 'invite', 'commission']),
    title: z.string(),
    status: z.enum(['scheduled', 'active', 'paused', 'ended']),
    startsAt: z.string().optional(),
    endsAt: z.string().optional(),
    rules: campaignRulesAnswerSchema,
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta(rulesByTypeDoc)
  .openapi('Campaign');
const idParam = z.object({ id: z.string().min(1).max(64) });

export const campaignRoutes = createArea();
for (const type of CAMPAIGN_TYPES) campaignRoutes.openAPIRegistry.register(RULES_SCHEMA_NAMES[type], rulesByType[type]);

// POST /v1/admin/campaigns — create a campaign of any type
campaignRoutes.openapi(
  createRoute({
    method: 'post',
    path: '/v1/admin/campaigns',
    tags: ['Campaigns'],
    summary: 'Create a campaign',
    security: bearerSecurity,
    middleware: [requireAuth('admin'), idempotency()] as const,
    request: { body: jsonBody(createCampaignSchema) },
    responses: { 201: jsonResponse(campaignSchema, 'The campaign'), ...problems(400, 401, 403, 409, 422, 429) },
  }),
  async (c) => c.json(await createCampaign(c.get('deps'), c.req.valid('json'), c.get('requestKey')), 201),
);

// GET /v1/admin/campaigns/:id — read a campaign
campaignRoutes.openapi(
  createRoute({
    method: 'get',
    path: '/v1/admin/campaigns/{id}',
    tags: ['Campaigns'],
    summary: 'Get a campaign',
    security: bearerSecurity,
    middleware: [requireAuth('admin')] as const,
    request: { params: idParam },
    responses: { 200: jsonResponse(campaignSchema, 'The campaign'), ...problems(401, 403, 404) },
  }),
  async (c) => c.json(await getCampaign(c.get('deps'), c.req.valid('param').id), 200),
);

// PATCH /v1/admin/campaigns/:id — pause, resume or end a campaign
campaignRoutes.openapi(
  createRoute({
    method: 'patch',
    path: '/v1/admin/campaigns/{id}',
    tags: ['Campaigns'],
    summary: 'Pause, resume or end a campaign (ending is final)',
    description:
      'The answer carries the effective status: resuming a campaign whose `startsAt` is still ahead answers `scheduled`. A campaign that has ended, by PATCH or because its `endsAt` has passed, cannot be resumed or paused (409 `conflict`); setting `ended` again answers 200. Ending a group_buy campaign closes its open groups at the sweeper’s first round 2 s or more after the end (within seconds locally; on AWS, where the sweeper runs every minute, within about a minute, 1,000 groups a round), as their expiry would: `failed` with failReason `campaign_ended` and GroupBuyFailed listing every order to refund, or, with autoFillOnExpiry, `formed` with simulated members; groups that formed before stay formed. Pausing leaves them open (joins answer 409 `campaign_inactive`). Each change is kept with its time, so an order is judged by the campaign as it was at its `paidAt` (commission attribution, first-order invite rewards), however late its webhook or event arrives.',
    security: bearerSecurity,
    middleware: [requireAuth('admin')] as const,
    request: { params: idParam, body: jsonBody(updateCampaignSchema) },
    responses: { 200: jsonResponse(campaignSchema, 'The campaign'), ...problems(400, 401, 403, 404, 409) },
  }),
  async (c) => c.json(await setCampaignStatus(c.get('deps'), c.req.valid('param').id, c.req.valid('json').status), 200),
);
