import { randomInt } from 'node:crypto';
import { utcDay } from '../../clock.ts';
import type { Deps } from '../../deps.ts';
import { CLICK_SHARDS } from '../../store/keys.ts';
import { addKolDay } from '../../store/kol.ts';
import {
  addLinkClicks,
  type ClickRecord,
  claimFirstVisit,
  claimUniqueClick,
  putClickHistory,
} from '../../store/links.ts';
import type { Link } from './link.schema.ts';
import { isUniqueClick, UNIQUE_WINDOW_MS } from './visitor.ts';

/** Visitors this instance saw counted recently: their repeat clicks within the window need no database check. */
const RECENT_MAX = 100_000;
const recent = new Map<string, number>();

/**
 * Whether a click is unique: a repeat within 30 minutes of the visitor's counted click on the link
 * is not. A warm instance answers repeats from memory; otherwise the database decides (one
 * conditional put per (link, visitor)), so the answer is the same on every instance.
 */
async function claimUnique(deps: Pick<Deps, 'store'>, code: string, visitorId: string, atMs: number): Promise<boolean> {
  const key = `${deps.store.tableName}#${code}#${visitorId}`;
  const seen = recent.get(key);
  if (seen !== undefined && seen <= atMs && !isUniqueClick(seen, atMs)) return false;
  const claim = await claimUniqueClick(deps.store, code, visitorId, atMs, UNIQUE_WINDOW_MS);
  if (recent.size >= RECENT_MAX) recent.delete(recent.keys().next().value as string);
  recent.set(key, claim.countedAt);
  return claim.unique;
}

/**
 * Claims a visit for the click's visitor: who a first visit (no cookie yet) is by its IP +
 * User-Agent hash counts, and its new cookie is claimed beside it, so that cookie's next clicks
 * are repeats of this one, not new visitors.
 */
async function claimVisit(click: ClickInput, claim: (who: string) => Promise<boolean>): Promise<boolean> {
  const [counts] = await Promise.all([
    claim(click.uniqueAs ?? click.visitorId),
    ...(click.uniqueAs ? [claim(click.visitorId)] : []),
  ]);
  return counts;
}

/** Visitors this instance saw in a scope already: their next clicks there need no database check. */
const seen = new Set<string>();

/** Whether this is the visitor's first click in `scope` (claimFirstVisit), answered from memory for a repeat. */
async function firstVisit(deps: Pick<Deps, 'store'>, scope: string, visitorId: string, untilMs?: number) {
  const key = `${deps.store.tableName}#${scope}#${visitorId}`;
  if (seen.has(key)) return false;
  const first = await claimFirstVisit(deps.store, scope, visitorId, untilMs);
  if (seen.size >= RECENT_MAX) seen.delete(seen.values().next().value as string);
  seen.add(key);
  return first;
}

/** The end of the UTC day after the one of `ms`: a day's visitor claims are kept until then. */
const endOfNextUtcDay = (ms: number) => Date.parse(`${utcDay(ms)}T00:00:00.000Z`) + 2 * 86_400_000;

/** How long an instance keeps writing the same counter shard. */
const SHARD_TURN_MS = 1000;
let turn = { shard: randomInt(CLICK_SHARDS), since: Number.NEGATIVE_INFINITY };

/**
 * The counter shard this instance writes now. Instances (Lambda containers) each take their own
 * at random, which spreads a hot link over the shards; within one instance every click of the
 * moment goes to the same shard, so its ADDs merge into one UpdateItem per round trip. A new
 * shard is drawn every second, so a long-lived server spreads over the shards too.
 */
function counterShard(nowMs: number): number {
  const age = nowMs - turn.since; // a clock that went back also draws a new shard
  if (!(age >= 0 && age < SHARD_TURN_MS)) turn = { shard: randomInt(CLICK_SHARDS), since: nowMs };
  return turn.shard;
}

/** One counted click. */
export interface ClickInput {
  link: Link;
  visitorId: string;
  /** Who the click is unique for, when not `visitorId`: a first visit (no cookie yet) counts once per IP + User-Agent hash. */
  uniqueAs?: string;
  /** The signed-in user, when the redirect carried a valid bearer token. */
  userId?: string;
  deviceHash?: string;
  atMs: number;
}

/**
 * Records a click: the visitor's (and signed-in user's) click history for attribution, so that
 * the newest click of a visitor on any link is their last click; and, once the (link, visitor)
 * claim says whether it is unique (30 minutes) and the (KOL and day, or owner and shared object,
 * visitor) claim whether it is a new visitor there, this instance's shard of the link's counters
 * and of the KOL's day (ADDs coalesced per shard). The history needs no claim, so it is put first: from the moment
 * the redirect is answered, an order or action of the visitor can have it written
 * (writePendingHistory). Every write is a single-item write, so a hot link never meets
 * transaction conflicts and no item takes more than 1/16 of its writes.
 */
export async function recordClick(deps: Pick<Deps, 'store'>, click: ClickInput): Promise<{ unique: boolean }> {
  const { link, visitorId, atMs } = click;
  const record: ClickRecord = {
    code: link.code,
    kind: link.kind,
    ownerId: link.ownerId,
    ...(link.campaignId ? { campaignId: link.campaignId } : {}),
    visitorId,
    ...(click.deviceHash ? { deviceHash: click.deviceHash } : {}),
    clickedAtMs: atMs,
    validUntilMs: atMs + link.windowSeconds * 1000,
    ...(link.shareId ? { shareId: link.shareId, objectType: link.objectType, objectId: link.objectId } : {}),
  };
  // Every click goes into the history (batched writes), so the newest click is the last click.
  const history = [putClickHistory(deps.store, `v:${visitorId}`, record)];
  if (click.userId) history.push(putClickHistory(deps.store, `u:${click.userId}`, record));
  const counted = (async () => {
    const day = utcDay(atMs);
    const [unique, newVisitor] = await Promise.all([
      claimVisit(click, (who) => claimUnique(deps, link.code, who, atMs)),
      // Distinct visitors: of a KOL on the day, of an owner's shares of an object ever.
      link.kind === 'kol'
        ? claimVisit(click, (who) => firstVisit(deps, `kol#${link.ownerId}#${day}`, who, endOfNextUtcDay(atMs)))
        : claimVisit(click, (who) =>
            firstVisit(deps, `share#${link.ownerId}#${link.objectType}#${link.objectId}`, who),
          ),
    ]);
    const shard = counterShard(atMs);
    const counts: Promise<void>[] = [
      addLinkClicks(deps.store, link.code, shard, {
        clicks: 1,
        uniqueClicks: unique ? 1 : 0,
        newVisitors: link.kind === 'share' && newVisitor ? 1 : 0,
      }),
    ];
    if (link.kind === 'kol')
      counts.push(addKolDay(deps.store, link.ownerId, shard, day, { clicks: 1, uniqueVisitors: newVisitor ? 1 : 0 }));
    await Promise.all(counts);
    return unique;
  })();
  const [unique] = await Promise.all([counted, ...history]);
  return { unique };
}
