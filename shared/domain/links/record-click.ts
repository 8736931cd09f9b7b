import { randomInt } from 'node:crypto';
import { setBounded } from '../../bounded-map.ts';
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
  putFirstVisit,
  putUniqueClick,
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
  const countedAt = recent.get(key);
  if (countedAt !== undefined && countedAt <= atMs && !isUniqueClick(countedAt, atMs)) return false;
  const claim = await claimUniqueClick(deps.store, code, visitorId, atMs, UNIQUE_WINDOW_MS);
  setBounded(recent, key, claim.countedAt, RECENT_MAX);
  return claim.unique;
}

/** Visitors this instance saw in a scope, until their claim there ends: their next clicks need no database check. */
const seen = new Map<string, number>();

/** Whether this is the visitor's first click in `scope` (claimFirstVisit), answered from memory for a repeat. */
async function firstVisit(
  deps: Pick<Deps, 'store'>,
  scope: string,
  visitorId: string,
  at: { nowMs: number; untilMs: number },
) {
  const key = `${deps.store.tableName}#${scope}#${visitorId}`;
  if ((seen.get(key) ?? Number.NEGATIVE_INFINITY) > at.nowMs) return false;
  const first = await claimFirstVisit(deps.store, scope, visitorId, at);
  setBounded(seen, key, at.untilMs, RECENT_MAX);
  return first;
}

/**
 * A first visit's new cookie, as seen by its first click: its claims cannot exist yet, so they
 * are put without a condition (batched), and remembered, so the cookie's next clicks are repeats
 * of this one (the click itself counts by its IP + User-Agent hash).
 */
async function startVisitor(deps: Pick<Deps, 'store'>, link: Link, scope: string, visitorId: string, atMs: number) {
  const untilMs = visitUntil(link, atMs, true);
  setBounded(recent, `${deps.store.tableName}#${link.code}#${visitorId}`, atMs, RECENT_MAX);
  setBounded(seen, `${deps.store.tableName}#${scope}#${visitorId}`, untilMs, RECENT_MAX);
  await Promise.all([
    putUniqueClick(deps.store, link.code, visitorId, atMs, UNIQUE_WINDOW_MS),
    putFirstVisit(deps.store, scope, visitorId, untilMs),
  ]);
}

/** Where a visitor counts once: a KOL's UTC day (over all its links), or an owner's shares of one object. */
const visitScope = (link: Link, atMs: number) =>
  link.kind === 'kol'
    ? `kol#${link.ownerId}#${utcDay(atMs)}`
    : `share#${link.ownerId}#${link.objectType}#${link.objectId}`;

const DAY_MS = 86_400_000;
/**
 * How long a visitor's claim in its scope lasts: past the end of its KOL day; for a shared object,
 * the `fission_vid` cookie's 400 days, or one day for an address hash (which stands for a visitor
 * only that long).
 */
const visitUntil = (link: Link, atMs: number, byCookie: boolean) =>
  link.kind === 'kol' ? Date.parse(`${utcDay(atMs)}T00:00:00.000Z`) + 2 * DAY_MS : atMs + (byCookie ? 400 : 1) * DAY_MS;

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
 * claim says whether it is unique (30 minutes), and the (KOL and day, or owner and shared object,
 * visitor) claim whether it is a new visitor there (both at once), this instance's shard of
 * the link's counters and of the KOL's day (ADDs coalesced per shard). The history needs no
 * claim, so it is put first: from the moment the redirect is answered, an order or action of the
 * visitor can have it written (writePendingHistory). Counters are plain ADDs and each claim is an
 * item of its own (a transaction of claims holds distinct items), so a hot link never
 * meets transaction conflicts and no item takes more than 1/16 of its writes.
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
    const who = click.uniqueAs ?? visitorId;
    const scope = visitScope(link, atMs);
    const started = click.uniqueAs ? startVisitor(deps, link, scope, visitorId, atMs) : undefined;
    started?.catch(() => {}); // joined below; a claim failing first must not leave its failure unhandled
    // Both claims at once (they go out together in one transaction of claims): whether the click is
    // unique on the link, and whether the visitor is new in the KOL's day or on the owner's shares
    // of the object. A repeat click can be a new visitor: its unique click was the day before.
    const [unique, newVisitor] = await Promise.all([
      claimUnique(deps, link.code, who, atMs),
      firstVisit(deps, scope, who, { nowMs: atMs, untilMs: visitUntil(link, atMs, !click.uniqueAs) }),
    ]);
    const shard = counterShard(atMs);
    await Promise.all([
      started,
      addLinkClicks(deps.store, link.code, shard, {
        clicks: 1,
        uniqueClicks: unique ? 1 : 0,
        newVisitors: link.kind === 'share' && newVisitor ? 1 : 0,
      }),
      ...(link.kind === 'kol'
        ? [addKolDay(deps.store, link.ownerId, shard, utcDay(atMs), { clicks: 1, uniqueVisitors: newVisitor ? 1 : 0 })]
        : []),
    ]);
    return unique;
  })();
  const [unique] = await Promise.all([counted, ...history]);
  return { unique };
}
