import { createHmac, randomBytes } from 'node:crypto';

/** The longest `X-Device-Id` taken (a longer one is refused where it is an input, ignored on the redirect). */
export const MAX_DEVICE_ID_LENGTH = 128;

/**
 * What a `fission_vid` cookie (and the visitor of an attribution token) may look like: 1 to 128
 * printable ASCII characters but space, `"`, `,`, `;`, `\\` (not cookie-safe), `%` (a value is
 * taken as sent, never percent-decoded) and `~` (the token's separator). The server's own ids are
 * 27–28 characters; a frontend's or test client's own visitor ids (a UUID, `v-17`) are honoured
 * as well, as the order webhook's `visitorId` is.
 */
export const VISITOR_ID_PATTERN = /^[!#$&-+\--:<-[\]-}]{1,128}$/;

/** A visitor id from a cookie value, when it has the right shape. */
export function visitorFromCookie(cookie: string | undefined): string | undefined {
  return cookie && VISITOR_ID_PATTERN.test(cookie) ? cookie : undefined;
}

/**
 * Who a client without a cookie is, for counting its clicks: a keyed hash of IP + User-Agent, so
 * the raw IP is never stored and cannot be recovered by hashing every address. Many people share
 * one (carrier NAT, the same phone model), so it names no one for attribution: see newVisitorId.
 */
export function derivedVisitorId(secret: string, ip: string, userAgent: string): string {
  return `h${createHmac('sha256', secret).update(`visitor|${ip}|${userAgent}`).digest('base64url').slice(0, 27)}`;
}

/**
 * The id the `fission_vid` cookie gives a first visit (27 random base64url characters): a visitor
 * of its own, never shared with another person behind the same address.
 */
export function newVisitorId(): string {
  return `v${randomBytes(20).toString('base64url')}`;
}

/**
 * Device ids that name no device: what clients send when they have none (an unset variable, the
 * all-zero advertising id iOS reports when tracking is denied). Two users sending one are not on
 * one device.
 */
const NO_DEVICE_ID = /^(?:undefined|null|\(null\)|nil|none|unknown|n\/a|[0-]+)$/i;

/** An `X-Device-Id` as a device: trimmed, and none when blank or a placeholder (NO_DEVICE_ID). */
export function deviceIdOf(raw: string | undefined): string | undefined {
  const id = raw?.trim();
  return id && !NO_DEVICE_ID.test(id) ? id : undefined;
}

/**
 * Whether a visitor id is the keyed IP + User-Agent hash that first visits once got as their
 * cookie (`h` and 27 characters, see derivedVisitorId): many people behind one carrier address
 * share it, so it identifies no one's browser.
 */
export const isAddressVisitor = (id: string): boolean => /^h[A-Za-z0-9_-]{27}$/.test(id);

/** A keyed hash of an `X-Device-Id` (none for a placeholder), stored instead of the id itself. */
export function deviceHash(secret: string, raw: string | undefined): string | undefined {
  const deviceId = deviceIdOf(raw);
  if (!deviceId || deviceId.length > MAX_DEVICE_ID_LENGTH) return undefined;
  return createHmac('sha256', secret).update(`device|${deviceId}`).digest('base64url').slice(0, 27);
}

/** A click counts as unique when the same visitor has not clicked the same link in the last 30 minutes. */
export const UNIQUE_WINDOW_MS = 30 * 60 * 1000;

/** Whether a click at `nowMs` is unique, given the visitor's previous click on the link (0 = none). */
export function isUniqueClick(previousAtMs: number, nowMs: number): boolean {
  return previousAtMs <= 0 || nowMs - previousAtMs >= UNIQUE_WINDOW_MS;
}
