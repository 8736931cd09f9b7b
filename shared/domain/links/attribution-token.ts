import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto';
import { CODE_PATTERN } from '../../ids.ts';
import { VISITOR_ID_PATTERN } from './visitor.ts';

/** What an attribution token (`fission_ref`) vouches for: this visitor clicked this link at this time. */
export interface TokenClaims {
  code: string;
  visitorId: string;
  issuedAtMs: number;
}

/** A token issued up to this far in the future (clock skew between instances) is still accepted. */
export const TOKEN_SKEW_MS = 5 * 60 * 1000;

/** The longest a token can be: a 32-character code, a 128-character visitor and a 15-digit time, signed. */
const MAX_TOKEN_LENGTH = 320;

/** The secret as a key object, made once: a string key is imported again on every HMAC. */
const keys = new Map<string, KeyObject>();
function keyOf(secret: string): KeyObject {
  let key = keys.get(secret);
  if (!key) {
    key = createSecretKey(Buffer.from(secret, 'utf8'));
    keys.set(secret, key);
  }
  return key;
}

const mac = (secret: string, payload: string) =>
  createHmac('sha256', keyOf(secret)).update(`fission_ref.v1.${payload}`).digest('base64url');

/** `<base64url(code~visitor~issuedAtMs)>.<base64url(HMAC-SHA256)>`. */
export function signAttributionToken(secret: string, claims: TokenClaims): string {
  const payload = Buffer.from(`${claims.code}~${claims.visitorId}~${Math.floor(claims.issuedAtMs)}`).toString(
    'base64url',
  );
  return `${payload}.${mac(secret, payload)}`;
}

/**
 * The claims of a token whose signature is right, else undefined (never throws). The signature is
 * compared as the exact string, so an altered character, even one base64 would decode the same, fails.
 */
export function verifyAttributionToken(secret: string, token: string | undefined): TokenClaims | undefined {
  if (!token || token.length > MAX_TOKEN_LENGTH) return undefined;
  const parts = token.split('.');
  if (parts.length !== 2) return undefined;
  const [payload, sig] = parts as [string, string];
  if (!/^[A-Za-z0-9_-]+$/.test(payload) || !/^[A-Za-z0-9_-]{43}$/.test(sig)) return undefined;
  const expected = Buffer.from(mac(secret, payload));
  const given = Buffer.from(sig);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return undefined;
  const m = /^([^~]+)~([^~]+)~(\d{1,15})$/.exec(Buffer.from(payload, 'base64url').toString('utf8'));
  if (!m || !CODE_PATTERN.test(m[1]!) || !VISITOR_ID_PATTERN.test(m[2]!)) return undefined;
  return { code: m[1]!, visitorId: m[2]!, issuedAtMs: Number(m[3]) };
}

/** A verified token is honoured at `atMs` when issued no later than then (with skew) and at most `windowSeconds` before. */
export function tokenInWindow(claims: TokenClaims, windowSeconds: number, atMs: number): boolean {
  return claims.issuedAtMs <= atMs + TOKEN_SKEW_MS && atMs - claims.issuedAtMs <= windowSeconds * 1000;
}
