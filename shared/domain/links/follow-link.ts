import { setBounded } from '../../bounded-map.ts';
import type { Deps } from '../../deps.ts';
import { NotFoundError } from '../../errors.ts';
import { CODE_PATTERN } from '../../ids.ts';
import { findLink } from '../../store/links.ts';
import { signAttributionToken } from './attribution-token.ts';
import { isBot } from './bots.ts';
import type { Link } from './link.schema.ts';
import type { ClickInput } from './record-click.ts';
import { withoutRef, withRef } from './target-url.ts';
import { derivedVisitorId, deviceHash, newVisitorId, visitorFromCookie } from './visitor.ts';

/** Links never change once created, so a warm instance keeps them a minute: the hot path skips the read. */
const CACHE_MS = 60_000;
const CACHE_MAX = 10_000;
const cache = new Map<string, { link: Promise<Link | undefined>; until: number }>();

/** The link, read once per minute per instance: concurrent first requests share one read. */
async function cachedLink(deps: Pick<Deps, 'store'>, code: string, nowMs: number): Promise<Link | undefined> {
  const key = `${deps.store.tableName}#${code}`;
  const hit = cache.get(key);
  if (hit && hit.until > nowMs) return hit.link;
  const link = findLink(deps.store, code);
  setBounded(cache, key, { link, until: nowMs + CACHE_MS }, CACHE_MAX);
  const found = await link.catch(() => undefined);
  if (!found) cache.delete(key);
  return link;
}

/** Where a redirect sends the visitor, and the click to record (none for bots and HEADs). */
export interface FollowResult {
  location: string;
  /** The visitor id the answer sets as the `fission_vid` cookie, when the visitor had no valid one. */
  newCookie?: string;
  click?: ClickInput;
}

/** What a redirect request says: the code, and who follows it (the raw IP is only hashed). */
export interface FollowInput {
  code: string;
  cookie?: string;
  ip: string;
  userAgent?: string;
  deviceId?: string;
  /** The signed-in user, when the request carried a valid bearer token. */
  userId?: string;
  /** A HEAD (a link checker, an app fetching a preview): answered, but no visit. */
  head?: boolean;
}

/**
 * Resolves `GET /s/{code}`: 404 for an unknown code; otherwise the target with a fresh signed
 * `fission_ref` token. The visitor is the cookie's id, else a new one (the answer sets the cookie),
 * whose click is unique once per keyed hash of IP + User-Agent.
 * Bots and HEADs get the redirect to the target as it is, and no click.
 */
export async function followLink(
  deps: Pick<Deps, 'store' | 'clock' | 'config'>,
  input: FollowInput,
): Promise<FollowResult> {
  if (!CODE_PATTERN.test(input.code)) throw new NotFoundError('link');
  const now = deps.clock.now();
  const link = await cachedLink(deps, input.code, now);
  if (!link) throw new NotFoundError('link');
  // Known bots and HEADs are sent on as to any link, but as no visitor: no click, no cookie, and
  // no token that could credit a conversion or an order to a visit that was never counted.
  if (input.head || isBot(input.userAgent)) return { location: withoutRef(link.targetUrl) };
  const secret = deps.config.attributionSecret;
  const fromCookie = visitorFromCookie(input.cookie);
  // A first visit gets an id of its own (its cookie from now on): two phones behind one carrier
  // address with the same browser are two visitors. Its click still counts once per IP + User-Agent
  // hash, so a browser that keeps no cookies is not a new unique visitor on every click.
  const visitorId = fromCookie ?? newVisitorId();
  const uniqueAs = fromCookie ? undefined : derivedVisitorId(secret, input.ip, input.userAgent ?? '');
  const token = signAttributionToken(secret, { code: link.code, visitorId, issuedAtMs: now });
  const dev = deviceHash(secret, input.deviceId);
  return {
    location: withRef(link.targetUrl, token),
    ...(fromCookie ? {} : { newCookie: visitorId }),
    click: {
      link,
      visitorId,
      ...(uniqueAs ? { uniqueAs } : {}),
      atMs: now,
      ...(input.userId ? { userId: input.userId } : {}),
      ...(dev ? { deviceHash: dev } : {}),
    },
  };
}
