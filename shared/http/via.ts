import type { Context } from 'hono';
import { z } from 'zod';
import {
  deviceHash,
  deviceIdOf,
  isAddressVisitor,
  MAX_DEVICE_ID_LENGTH,
  VISITOR_ID_PATTERN,
  visitorFromCookie,
} from '../domain/links/visitor.ts';
import type { DeviceMarks } from '../store/user-devices.ts';

/** `X-Device-Id`, the optional device signal (API.md, Conventions). */
export const deviceIdSchema = z.string().trim().max(MAX_DEVICE_ID_LENGTH).transform(deviceIdOf); // an empty, blank or placeholder header (`unknown`, all zeros): no device

/**
 * The `fission_vid` cookie exactly as sent (not percent-decoded, as hono's getCookie would):
 * the visitor id is compared byte for byte with the one a shop's webhook names.
 */
export function visitorCookie(c: Context): string | undefined {
  const header = c.req.header('cookie');
  if (!header) return undefined;
  let first: string | undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0 || part.slice(0, eq).trim() !== 'fission_vid') continue;
    const raw = part.slice(eq + 1).trim();
    const value = raw.length > 1 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw; // RFC 6265 quotes
    if (VISITOR_ID_PATTERN.test(value)) return value; // of several, the first that is a visitor id
    first ??= value || undefined;
  }
  return first;
}

/** The caller's device: its `X-Device-Id` (hashed) and `fission_vid` cookie, for same-device holds. */
export function callerDevice(c: Context, deviceId: string | undefined, secret: string): DeviceMarks {
  const cookie = visitorFromCookie(visitorCookie(c));
  // An IP + User-Agent hash (an old first visit's cookie) is many people's: no browser of the caller's.
  const browser = cookie && !isAddressVisitor(cookie) ? cookie : undefined;
  return { devices: [deviceHash(secret, deviceId)], visitors: [browser] };
}

/** How the caller reached an action: its visitor id and the attribution token of a share link. */
export interface Via {
  visitorId?: string;
  ref?: string;
}

/**
 * How the caller reached this action, for share conversions: the `fission_vid` visitor cookie
 * and the attribution token of the share link they came through (`X-Fission-Ref` header or
 * `fission_ref` query). Both are hints, checked by the consumer that counts conversions.
 */
export function requestVia(c: Context): Via | undefined {
  // A cookie that is no visitor id (the redirect ignored it too) gives way to the header.
  const cookie = visitorCookie(c);
  const vid = visitorFromCookie(cookie) ?? c.req.header('x-fission-visitor');
  const ref = c.req.header('x-fission-ref') ?? c.req.query('fission_ref');
  const out: Via = {};
  if (vid && vid.length <= 128) out.visitorId = vid;
  if (ref && ref.length <= 1024) out.ref = ref;
  return out.visitorId || out.ref ? out : undefined;
}

/** How a frontend makes an action count for the share link its user came through (OpenAPI text). */
export const VIA_DOC =
  'Share conversions: send what the share link’s redirect gave the visitor, and the action counts once as that share’s conversion: its attribution token (`X-Fission-Ref` header, or the `fission_ref` query parameter the H5 page received), or the visitor id (the `fission_vid` cookie, or an `X-Fission-Visitor` header where the page cannot send cookies). Both are hints: a forged, expired or mismatched token, or a visitor with no click on a share of this object, counts nothing.';
