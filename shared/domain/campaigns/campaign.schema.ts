import { z } from 'zod';
import { amountSchema, positiveAmountSchema } from '../money.ts';
import { textSchema } from '../text.ts';
import { utcTimeSchema } from '../time.ts';

const rewardSchema = z.strictObject({
  asset: z.enum(['cash', 'points']),
  amount: amountSchema,
});

export const bargainRulesSchema = z
  .strictObject({
    sku: textSchema(128),
    originalPrice: positiveAmountSchema,
    floorPrice: amountSchema,
    helpersRequired: z.number().int().min(1).max(500),
    durationSeconds: z
      .number()
      .int()
      .min(1)
      .max(90 * 24 * 3600),
    maxHelpsPerUserPerDay: z.number().int().min(1).max(1000).default(5),
    allowBuyAtCurrentPrice: z.boolean().default(false),
    stock: z
      .number()
      .int()
      .min(0)
      .max(100_000_000)
      .optional()
      .describe(
        'Caps how many chains can complete or be purchased: each chain uses one unit, when its last help lands or when it is bought while still active; never oversold',
      ),
    newUserBonus: z
      .boolean()
      .default(false)
      .describe(
        'A helper who has never started or helped any bargain chain cuts up to 2× the scheduled cut (see the help endpoint)',
      ),
  })
  .refine((r) => r.floorPrice < r.originalPrice, {
    message: 'floorPrice must be below originalPrice',
    path: ['floorPrice'],
  })
  .refine((r) => r.originalPrice - r.floorPrice >= r.helpersRequired, {
    message: 'originalPrice - floorPrice must be at least helpersRequired (every cut is ≥ 1)',
    path: ['helpersRequired'],
  });

export const groupBuyRulesSchema = z
  .strictObject({
    sku: textSchema(128),
    originalPrice: positiveAmountSchema,
    groupPrice: positiveAmountSchema,
    leaderPrice: positiveAmountSchema.optional(),
    groupSize: z.number().int().min(2).max(50),
    durationSeconds: z
      .number()
      .int()
      .min(1)
      .max(90 * 24 * 3600),
    maxOpenGroupsPerUser: z.number().int().min(1).max(100).default(1),
    autoFillOnExpiry: z.boolean().default(false),
  })
  .refine((r) => r.groupPrice <= r.originalPrice, {
    message: 'groupPrice must not exceed originalPrice',
    path: ['groupPrice'],
  })
  .refine((r) => r.leaderPrice === undefined || r.leaderPrice <= r.groupPrice, {
    message: 'leaderPrice must not exceed groupPrice',
    path: ['leaderPrice'],
  });

export const inviteRulesSchema = z.strictObject({
  inviterReward: rewardSchema,
  inviteeReward: rewardSchema,
  qualifyingAction: z.enum(['signup', 'first_order']),
  maxRewardedInvitesPerInviter: z.number().int().min(0).max(1_000_000).optional(),
  lockSeconds: z
    .number()
    .int()
    .min(0)
    .max(365 * 24 * 3600)
    .default(0),
});

export const commissionRulesSchema = z.strictObject({
  rateBps: z.number().int().min(0).max(10000).describe('Commission rate in basis points'),
  model: z.enum(['last_click', 'first_click']).default('last_click'),
  attributionWindowSeconds: z
    .number()
    .int()
    .min(1)
    .max(365 * 24 * 3600)
    .default(604800),
  lockSeconds: z
    .number()
    .int()
    .min(0)
    .max(365 * 24 * 3600)
    .default(604800),
  minPayout: amountSchema.default(100),
});

export const CAMPAIGN_TYPES = ['bargain', 'group_buy', 'invite', 'commission'] as const;
export type CampaignType = (typeof CAMPAIGN_TYPES)[number];

/** Each campaign type's rules schema. */
export const rulesByType = {
  bargain: bargainRulesSchema,
  group_buy: groupBuyRulesSchema,
  invite: inviteRulesSchema,
  commission: commissionRulesSchema,
} as const;

/** The rules schemas by the name the OpenAPI spec gives them (`#/components/schemas/<name>`). */
export const RULES_SCHEMA_NAMES = {
  bargain: 'BargainRules',
  group_buy: 'GroupBuyRules',
  invite: 'InviteRules',
  commission: 'CommissionRules',
} as const satisfies Record<CampaignType, string>;

/** How the spec documents `rules`: one of the four types' schemas, which one `type` says. */
const rulesDoc = {
  description:
    'Rules for the campaign type: the schema named after `type` (see API.md, Campaigns); rules of another type → 400. Checked across fields too (400): bargain `floorPrice` < `originalPrice` and `originalPrice - floorPrice` ≥ `helpersRequired`; group buy `groupPrice` ≤ `originalPrice` and `leaderPrice` ≤ `groupPrice`.',
  oneOf: Object.values(RULES_SCHEMA_NAMES).map((name) => ({ $ref: `#/components/schemas/${name}` })),
};

/**
 * How the spec ties `rules` to `type` on a campaign: when `type` is one of the four, `rules` is
 * that type's schema (JSON Schema if/then; the server checks it, 400 otherwise).
 */
export const rulesByTypeDoc = {
  allOf: Object.entries(RULES_SCHEMA_NAMES).map(([type, name]) => ({
    if: { properties: { type: { const: type } }, required: ['type'] },
    // biome-ignore lint/suspicious/noThenProperty: JSON Schema's if/then keyword; never awaited
    then: { properties: { rules: { $ref: `#/components/schemas/${name}` } } },
  })),
};

export type BargainRules = z.output<typeof bargainRulesSchema>;
export type GroupBuyRules = z.output<typeof groupBuyRulesSchema>;
export type InviteRules = z.output<typeof inviteRulesSchema>;
export type CommissionRules = z.output<typeof commissionRulesSchema>;
export interface RulesOf {
  bargain: BargainRules;
  group_buy: GroupBuyRules;
  invite: InviteRules;
  commission: CommissionRules;
}

/** `POST /v1/admin/campaigns`: the rules are checked against the schema of the campaign's type. */
export const createCampaignSchema = z
  .strictObject({
    type: z.enum(CAMPAIGN_TYPES),
    title: textSchema(200),
    startsAt: utcTimeSchema.optional(),
    endsAt: utcTimeSchema.optional().describe('After `startsAt` when both are given (else 400)'),
    rules: z
      .preprocess(
        // A record drops a `__proto__` key while copying; the type's strict schema would refuse it.
        (raw, ctx) => {
          if (raw && typeof raw === 'object' && Object.hasOwn(raw, '__proto__'))
            ctx.addIssue({ code: 'custom', message: 'Unrecognized key: "__proto__"' });
          return raw;
        },
        z.record(z.string(), z.unknown()),
      )
      .meta(rulesDoc),
  })
  .meta(rulesByTypeDoc)
  .transform((v, ctx) => {
    if (v.startsAt && v.endsAt && Date.parse(v.endsAt) <= Date.parse(v.startsAt))
      ctx.addIssue({ code: 'custom', path: ['endsAt'], message: 'endsAt must be after startsAt' });
    const r = rulesByType[v.type].safeParse(v.rules);
    if (!r.success)
      for (const issue of r.error.issues)
        ctx.addIssue({ code: 'custom', path: ['rules', ...issue.path], message: issue.message });
    if (!r.success || ctx.issues.length > 0) return z.NEVER;
    return { ...v, rules: r.data };
  });
export type CreateCampaignInput = z.input<typeof createCampaignSchema>;

/** A campaign's `rules` in an answer, documented as in the request. */
export const campaignRulesAnswerSchema = z.record(z.string(), z.unknown()).meta(rulesDoc);

export const updateCampaignSchema = z.strictObject({ status: z.enum(['active', 'paused', 'ended']) });

export const CAMPAIGN_STATUSES = ['scheduled', 'active', 'paused', 'ended'] as const;
export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number];

/** A campaign as stored and answered; `status` is the effective one (scheduled before `startsAt`, ended after `endsAt`). */
export interface Campaign<T extends CampaignType = CampaignType> {
  id: string;
  type: T;
  title: string;
  status: CampaignStatus;
  startsAt?: string;
  endsAt?: string;
  rules: RulesOf[T];
  createdAt: string;
  updatedAt: string;
}
