import { TOKEN_SKEW_MS } from '../links/attribution-token.ts';

/** A click that may have led to an order: from a verified token or from click history. */
export interface Candidate {
  code: string;
  atMs: number;
  source: 'token' | 'history';
  visitorId?: string;
  deviceHash?: string;
}

/** What attribution needs of a candidate's link. */
export interface CandidateLink {
  code: string;
  kind: 'kol' | 'share';
  ownerId: string;
  campaignId?: string;
  ownerDeviceHash?: string;
  ownerVisitorId?: string;
}

/** A commission campaign as attribution sees it (`active` at the time the order was paid). */
export interface Program {
  id: string;
  active: boolean;
  rateBps: number;
  model: 'last_click' | 'first_click';
  attributionWindowSeconds: number;
}

export interface Choice {
  candidate: Candidate;
  link: CandidateLink;
  program: Program;
}

/**
 * Picks the click an order is attributed to. A candidate counts when its link is a KOL link of an
 * active commission campaign and it happened no later than `paidAt` (5 min skew) and no earlier
 * than the campaign's window before it. The newest counting candidate's campaign decides the
 * model: `last_click` takes that newest one, `first_click` the oldest counting one of the same
 * campaign. At equal times a token beats history.
 */
export function chooseAttribution(
  candidates: readonly Candidate[],
  links: ReadonlyMap<string, CandidateLink>,
  programs: ReadonlyMap<string, Program>,
  paidAtMs: number,
): Choice | undefined {
  const valid: Choice[] = [];
  for (const candidate of candidates) {
    const link = links.get(candidate.code);
    if (link?.kind !== 'kol' || !link.campaignId) continue;
    const program = programs.get(link.campaignId);
    if (!program?.active) continue;
    if (candidate.atMs > paidAtMs + TOKEN_SKEW_MS) continue;
    if (paidAtMs - candidate.atMs > program.attributionWindowSeconds * 1000) continue;
    valid.push({ candidate, link, program });
  }
  if (valid.length === 0) return undefined;
  const rank = (c: Choice) => (c.candidate.source === 'token' ? 1 : 0);
  valid.sort((a, b) => b.candidate.atMs - a.candidate.atMs || rank(b) - rank(a));
  const newest = valid[0]!;
  if (newest.program.model === 'last_click') return newest;
  const same = valid.filter((c) => c.program.id === newest.program.id);
  const oldestAt = same[same.length - 1]!.candidate.atMs;
  return same.find((c) => c.candidate.atMs === oldestAt && c.candidate.source === 'token') ?? same[same.length - 1]!;
}

/**
 * A self-referral: the buyer is the KOL, or the click came from the KOL's own device or visitor
 * id. Such orders are attributed but `held` for review, never paid silently.
 */
export function isSelfReferral(choice: Choice, order: { userId: string; visitorId?: string }): boolean {
  const { link, candidate } = choice;
  if (order.userId === link.ownerId) return true;
  if (link.ownerDeviceHash && candidate.deviceHash === link.ownerDeviceHash) return true;
  if (link.ownerVisitorId && (candidate.visitorId === link.ownerVisitorId || order.visitorId === link.ownerVisitorId))
    return true;
  return false;
}
