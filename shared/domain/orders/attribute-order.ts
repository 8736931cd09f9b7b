import type { Deps } from '../../deps.ts';
import { findCampaign } from '../../store/campaigns.ts';
import { findLinks, HISTORY_READ_MAX, queryClickHistory } from '../../store/links.ts';
import { shareDevice } from '../../store/user-devices.ts';
import type { CommissionRules } from '../campaigns/campaign.schema.ts';
import { effectiveStatus } from '../campaigns/effective-status.ts';
import { TOKEN_SKEW_MS, verifyAttributionToken } from '../links/attribution-token.ts';
import { applyBps } from '../money.ts';
import {
  type Candidate,
  type CandidateLink,
  type Choice,
  chooseAttribution,
  isSelfReferral,
  type Program,
} from './choose-attribution.ts';
import type { PaidOrderInput } from './order.schema.ts';

/** An order's attribution: the link, its KOL and campaign, and the commission. */
export interface Attribution {
  linkCode: string;
  kolId: string;
  campaignId: string;
  rateBps: number;
  commission: number;
  lockSeconds: number;
  minPayout: number;
  held: boolean;
}

/** Longest attribution window a campaign may have: how far back click history is read. */
const MAX_WINDOW_MS = 366 * 86_400_000;

/**
 * Finds the click an order is attributed to: the attribution token when it verifies, and the
 * click history of the user id and visitor id the order names (newest and, when there are more, oldest
 * inside the widest window), judged by `chooseAttribution` with each link's commission campaign as of `paidAt`.
 */
export async function attributeOrder(
  deps: Pick<Deps, 'store' | 'config'>,
  order: PaidOrderInput,
): Promise<Attribution | undefined> {
  const paidAtMs = Date.parse(order.paidAt);
  const candidates: Candidate[] = [];
  const claims = verifyAttributionToken(deps.config.attributionSecret, order.attributionToken);
  if (claims)
    candidates.push({ code: claims.code, atMs: claims.issuedAtMs, source: 'token', visitorId: claims.visitorId });
  // Candidates come from the histories of the user and visitor the order names, not of the token's
  // visitor: an old first visit's cookie is a hash of IP + User-Agent, which people behind one
  // carrier IP on the same app share, so that visitor's other clicks must not outbid the token.
  const subjects = [`u:${order.userId}`, ...(order.visitorId ? [`v:${order.visitorId}`] : [])];
  const range = { fromMs: paidAtMs - MAX_WINDOW_MS, toMs: paidAtMs + TOKEN_SKEW_MS, validAtMs: paidAtMs };
  const [histories, tokenClicks] = await Promise.all([
    Promise.all(
      subjects.map(async (s) => {
        const read = { kind: 'kol' as const, maxItems: HISTORY_READ_MAX };
        const newest = await queryClickHistory(deps.store, s, range, { ...read, forward: false });
        if (newest.complete) return newest.items;
        const oldest = await queryClickHistory(deps.store, s, range, { ...read, forward: true });
        return [...newest.items, ...oldest.items];
      }),
    ),
    // The token's own click, for its device (holds): the redirect stamps both with the same time.
    claims
      ? queryClickHistory(
          deps.store,
          `v:${claims.visitorId}`,
          { fromMs: claims.issuedAtMs, toMs: claims.issuedAtMs, validAtMs: 0 },
          { kind: 'kol', maxItems: 100, forward: true },
        ).then((r) => r.items)
      : [],
  ]);
  for (const c of histories.flat())
    if (c.kind === 'kol' && c.campaignId)
      candidates.push({
        code: c.code,
        atMs: c.clickedAtMs,
        source: 'history',
        visitorId: c.visitorId,
        ...(c.deviceHash ? { deviceHash: c.deviceHash } : {}),
      });
  const token = candidates.find((c) => c.source === 'token');
  const sameClick =
    token &&
    tokenClicks.find(
      (c) => c.code === token.code && c.visitorId === token.visitorId && c.deviceHash && c.clickedAtMs === token.atMs,
    );
  if (token && sameClick?.deviceHash) token.deviceHash = sameClick.deviceHash;
  if (candidates.length === 0) return undefined;

  const links = await findLinks(
    deps.store,
    candidates.map((c) => c.code),
  );
  const programs = new Map<string, Program>();
  const rulesOf = new Map<string, CommissionRules>();
  const campaignIds = new Set(
    [...links.values()].filter((l) => l.commission && l.campaignId).map((l) => l.campaignId!),
  );
  for (const c of await Promise.all([...campaignIds].map((id) => findCampaign(deps.store, id)))) {
    if (c?.type !== 'commission') continue;
    const rules = c.rules as CommissionRules;
    rulesOf.set(c.id, rules);
    programs.set(c.id, {
      id: c.id,
      active: effectiveStatus(c, paidAtMs) === 'active',
      rateBps: rules.rateBps,
      model: rules.model,
      attributionWindowSeconds: rules.attributionWindowSeconds,
    });
  }
  const choice: Choice | undefined = chooseAttribution(
    candidates,
    links as ReadonlyMap<string, CandidateLink>,
    programs,
    paidAtMs,
  );
  if (!choice) return undefined;
  const rules = rulesOf.get(choice.program.id)!;
  // Held too when the click's device or browser, the order's visitor, or a device or browser the
  // buyer has sent, is one the KOL has sent (creating links, asking for invite codes, accepting).
  const held =
    isSelfReferral(choice, order) ||
    (await shareDevice(deps.store, choice.link.ownerId, order.userId, {
      devices: [choice.candidate.deviceHash],
      visitors: [choice.candidate.visitorId, order.visitorId],
    }));
  return {
    linkCode: choice.link.code,
    kolId: choice.link.ownerId,
    campaignId: choice.program.id,
    rateBps: rules.rateBps,
    commission: applyBps(order.amount, rules.rateBps),
    lockSeconds: rules.lockSeconds,
    minPayout: rules.minPayout,
    held,
  };
}
