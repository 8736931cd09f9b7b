import type { Link, LinkCounts } from '../domain/links/link.schema.ts';
import { addBufferOf } from './add-buffer.ts';
import { batchWriteBufferOf } from './batch-write.ts';
import { Coalescer } from './coalescer.ts';
import { conditionalPutBatcherOf } from './conditional-batch.ts';
import {
  CLICK_SHARDS,
  clickHistoryKey,
  clickHistoryPk,
  linkCounterKey,
  linkKey,
  linksByOwnerIndex,
  linksByOwnerPk,
  linkVisitorKey,
  visitorSeenKey,
} from './keys.ts';
import { perStore } from './per-store.ts';
import type { Item, Page, Store, TxItem } from './store.ts';

/** The link code is already taken (the caller draws another). */
export class LinkCodeTakenError extends Error {}

type StoredLink = Link & Item;

function linkItem(link: Link): Item {
  return {
    ...linkKey(link.code),
    ...(link.kind === 'kol' ? linksByOwnerIndex(link.ownerId, link.createdAt, link.code) : {}),
    entity: 'link',
    ...link,
  };
}

function toLink(item: StoredLink): Link {
  const { pk: _pk, sk: _sk, gsi1pk: _g1, gsi1sk: _g2, entity: _e, ...link } = item;
  return link as Link;
}

/** Put a new link; a taken code throws LinkCodeTakenError. */
export async function insertLink(store: Store, link: Link): Promise<void> {
  await store.put(linkItem(link), {
    condition: 'attribute_not_exists(pk)',
    onFail: () => new LinkCodeTakenError(),
  });
}

/** The transaction item that puts a new link (for shares, beside the share). */
export function insertLinkTx(link: Link): TxItem {
  return {
    Put: { Item: linkItem(link), ConditionExpression: 'attribute_not_exists(pk)' },
    onFail: () => new LinkCodeTakenError(),
  };
}

/** Get a link by code. */
export async function findLink(store: Store, code: string, consistent = false): Promise<Link | undefined> {
  const item = await store.get<StoredLink>(linkKey(code), consistent);
  return item ? toLink(item) : undefined;
}

/** Get many links by code (missing ones are absent). */
export async function findLinks(store: Store, codes: string[]): Promise<Map<string, Link>> {
  const unique = [...new Set(codes)];
  const items = unique.length ? await store.batchGet<StoredLink>(unique.map(linkKey)) : [];
  return new Map(items.map((i) => [i.code, toLink(i)]));
}

/** A KOL's links, newest first. */
export async function listLinksByOwner(
  store: Store,
  ownerId: string,
  limit: number,
  cursor?: string | null,
): Promise<Page<Link>> {
  const page = await store.query<StoredLink>({
    index: 'gsi1',
    pk: linksByOwnerPk(ownerId),
    limit,
    cursor,
    forward: false,
  });
  return { items: page.items.map(toLink), nextCursor: page.nextCursor };
}

/** Whether a click started a new unique window, and when the visitor's current window started. */
export interface UniqueClaim {
  unique: boolean;
  countedAt: number;
}

/**
 * Claims a unique click for (link, visitor): a conditional put that succeeds only when the
 * visitor has no counted click on the link within the last `windowMs` (one item per pair, so
 * the database decides under any concurrency). Clicks of the same pair arriving together share
 * one write: the earliest may be unique, the others fall in its window; claims of different
 * pairs arriving together go as one transaction (see ConditionalPutBatcher).
 */
export async function claimUniqueClick(
  store: Store,
  code: string,
  visitorId: string,
  nowMs: number,
  windowMs: number,
): Promise<UniqueClaim> {
  return claimCoalescerOf(store).submit(`${code}#${visitorId}`, { code, visitorId, nowMs, windowMs });
}

type Claim = { code: string; visitorId: string; nowMs: number; windowMs: number };
const linkVisitorItem = (code: string, visitorId: string, countedAt: number, windowMs: number): Item => ({
  ...linkVisitorKey(code, visitorId),
  entity: 'link_visitor',
  countedAt,
  ttl: Math.floor((countedAt + windowMs) / 1000) + 3600,
});
const claimCoalescerOf = perStore(
  (store) =>
    new Coalescer<Claim, UniqueClaim>(async (_key, claims) => {
      const first = claims.reduce((a, b) => (b.nowMs < a.nowMs ? b : a));
      const outcome = await conditionalPutBatcherOf(store).put(
        linkVisitorItem(first.code, first.visitorId, first.nowMs, first.windowMs),
        'attribute_not_exists(pk) OR countedAt <= :cutoff',
        { ':cutoff': first.nowMs - first.windowMs },
      );
      const unique = outcome.ok;
      const old = outcome.ok ? undefined : (outcome.old?.countedAt as number | { N?: string } | undefined);
      const countedAt = outcome.ok ? first.nowMs : typeof old === 'number' ? old : Number(old?.N ?? first.nowMs);
      return claims.map((cl) => ({ unique: unique && cl === first, countedAt }));
    }),
);

/**
 * Whether this is the visitor's first click in `scope` (a KOL's UTC day, or an owner's shares of one object): a
 * conditional put per (scope, visitor), so the database decides under any concurrency; clicks of the same pair arriving together share one write, the earliest counting.
 * The item expires at `untilMs` (an expired one not yet deleted counts as gone).
 */
export async function claimFirstVisit(
  store: Store,
  scope: string,
  visitorId: string,
  at: { nowMs: number; untilMs: number },
): Promise<boolean> {
  return visitCoalescerOf(store).submit(`${scope}#${visitorId}`, { scope, visitorId, ...at });
}

/** A visitor seen in `scope` until `untilMs`, put without a condition: for an id that cannot have been seen (a new cookie's). */
export async function putFirstVisit(store: Store, scope: string, visitorId: string, untilMs: number): Promise<void> {
  await batchWriteBufferOf(store).put(seenItem({ scope, visitorId, untilMs }));
}

/** A (link, visitor) unique-click claim counted at `atMs`, put without a condition: for a new cookie's id. */
export async function putUniqueClick(store: Store, code: string, visitorId: string, atMs: number, windowMs: number) {
  await batchWriteBufferOf(store).put(linkVisitorItem(code, visitorId, atMs, windowMs));
}

type Visit = { scope: string; visitorId: string; nowMs: number; untilMs: number };
const seenItem = (v: Pick<Visit, 'scope' | 'visitorId' | 'untilMs'>): Item => ({
  ...visitorSeenKey(v.scope, v.visitorId),
  entity: 'visitor_seen',
  ttl: Math.floor(v.untilMs / 1000),
});
const visitCoalescerOf = perStore(
  (store) =>
    new Coalescer<Visit, boolean>(async (_key, visits) => {
      const outcome = await conditionalPutBatcherOf(store).put(
        seenItem(visits[0]!),
        'attribute_not_exists(pk) OR #ttl < :now',
        { ':now': Math.floor(visits[0]!.nowMs / 1000) },
        { '#ttl': 'ttl' },
      );
      return visits.map((_, i) => outcome.ok && i === 0);
    }),
);

/**
 * Adds to one shard of a link's counters: an atomic ADD (no transaction, so no conflicts on a hot
 * link), coalesced with other clicks on the same shard in the same few milliseconds.
 */
export async function addLinkClicks(store: Store, code: string, shard: number, counts: LinkCounts): Promise<void> {
  await addBufferOf(store).add(linkCounterKey(code, shard), 'link_counter', { ...counts });
}

/** Every link's totals, summed over its counter shards (16 keys per link, read in parallel batches). */
export async function readLinkCounts(store: Store, codes: string[]): Promise<Map<string, LinkCounts>> {
  const out = new Map<string, LinkCounts>(codes.map((c) => [c, { clicks: 0, uniqueClicks: 0, newVisitors: 0 }]));
  const keys = [...out.keys()].flatMap((code) =>
    Array.from({ length: CLICK_SHARDS }, (_, s) => linkCounterKey(code, s)),
  );
  const chunks: (typeof keys)[] = [];
  for (let i = 0; i < keys.length; i += 100) chunks.push(keys.slice(i, i + 100));
  const results = await Promise.all(
    chunks.map((k) => store.batchGet<{ pk: string; clicks?: number; uniqueClicks?: number; newVisitors?: number }>(k)),
  );
  for (const item of results.flat()) {
    const code = item.pk.slice('LINKCOUNT#'.length, item.pk.lastIndexOf('#'));
    const c = out.get(code);
    if (!c) continue;
    c.clicks += item.clicks ?? 0;
    c.uniqueClicks += item.uniqueClicks ?? 0;
    c.newVisitors += item.newVisitors ?? 0;
  }
  return out;
}

/** One click in a visitor's or user's history, as attribution reads it. */
export interface ClickRecord {
  code: string;
  kind: Link['kind'];
  ownerId: string;
  campaignId?: string;
  visitorId: string;
  deviceHash?: string;
  clickedAtMs: number;
  /** The click no longer attributes after this time (its link's window). */
  validUntilMs: number;
  objectType?: string;
  objectId?: string;
  shareId?: string;
}

/** History items put but not yet acknowledged by the database, by table and subject, then by sk. */
const unwritten = new Map<string, Map<string, Item>>();

/**
 * Adds a click to a subject's (`v:<visitor>` or `u:<user>`) history; it expires with its window.
 * Append-only, so puts from concurrent clicks go out together in BatchWriteItem requests. Until
 * the put is acknowledged, writePendingHistory can write it at once for a reader that needs it.
 */
export async function putClickHistory(store: Store, subject: string, click: ClickRecord): Promise<void> {
  const item = {
    ...clickHistoryKey(subject, new Date(click.clickedAtMs).toISOString(), click.code),
    entity: 'click',
    ...click,
    ttl: Math.floor(click.validUntilMs / 1000) + 24 * 3600,
  };
  const key = `${store.tableName}\u0000${item.pk}`;
  const mine = unwritten.get(key) ?? new Map<string, Item>();
  unwritten.set(key, mine.set(item.sk, item));
  try {
    await batchWriteBufferOf(store).put(item);
  } finally {
    if (mine.get(item.sk) === item) mine.delete(item.sk);
    if (mine.size === 0 && unwritten.get(key) === mine) unwritten.delete(key);
  }
}

/**
 * Writes now, in requests of their own, the history items of these subjects that were put but are
 * not acknowledged yet (queued behind a burst of clicks, or in a batch the database has not
 * answered), so a read right after finds every click answered before this call. An order needs its
 * buyer's `kol` clicks written, a share action its visitor's `share` clicks (`kind`): all that a
 * reader takes (which one decides, newest, oldest or the one in the window, is for the reader).
 * They need not wait for everyone else's.
 */
export async function writePendingHistory(
  store: Store,
  subjects: readonly string[],
  kind: Link['kind'],
): Promise<void> {
  const items = subjects.flatMap((s) => {
    const queued = [...(unwritten.get(`${store.tableName}\u0000${clickHistoryPk(s)}`)?.values() ?? [])]
      .filter((i) => i.kind === kind)
      .sort((a, b) => (String(a.sk) < String(b.sk) ? -1 : 1));
    // Past what a reader takes of one subject (its newest and oldest HISTORY_READ_MAX), more is not read.
    return queued.length <= 2 * HISTORY_READ_MAX
      ? queued
      : [...queued.slice(0, HISTORY_READ_MAX), ...queued.slice(-HISTORY_READ_MAX)];
  });
  if (items.length > 0) await batchWriteBufferOf(store).putNow(items);
}

/** History items a reader takes of one subject at most, from each end (attribution: newest, then oldest). */
export const HISTORY_READ_MAX = 1000;

/** Items of a history read per page: DynamoDB counts them before the filter drops any. */
const HISTORY_PAGE = 100;

/**
 * A subject's clicks of one kind (`kol` or `share`) in [fromMs, toMs] still valid at
 * `validAtMs`, newest first (`forward` false) or oldest first. Pages on past the clicks the
 * filter drops (other kinds, expired ones), so a click among many others is still found; reads
 * at most `maxItems` history items. `complete` says nothing else matched.
 */
export async function queryClickHistory(
  store: Store,
  subject: string,
  range: { fromMs: number; toMs: number; validAtMs: number },
  opts: { forward: boolean; kind: Link['kind']; maxItems: number },
): Promise<{ items: ClickRecord[]; complete: boolean }> {
  const items: ClickRecord[] = [];
  let cursor: string | null = null;
  for (let read = 0; read < opts.maxItems; read += HISTORY_PAGE) {
    const page: Page<ClickRecord> = await store.query<ClickRecord>({
      pk: clickHistoryPk(subject),
      sk: { between: [new Date(range.fromMs).toISOString(), `${new Date(range.toMs).toISOString()}~`] },
      filter: {
        expression: 'validUntilMs >= :at AND #kind = :kind',
        names: { '#kind': 'kind' },
        values: { ':at': range.validAtMs, ':kind': opts.kind },
      },
      forward: opts.forward,
      limit: HISTORY_PAGE,
      cursor,
    });
    items.push(...page.items);
    cursor = page.nextCursor;
    if (cursor === null) return { items, complete: true };
  }
  return { items, complete: false };
}
