import { createHash, createHmac, randomBytes, randomFillSync } from 'node:crypto';
import { monotonicFactory } from 'ulid';
import type { Clock } from './clock.ts';

/** Id randomness from the OS, 4 KiB at a time: the default asks the OS once per character, slow on hot paths. */
const pool = Buffer.alloc(4096);
let used = pool.length;
function pooledRandom(): number {
  if (used === pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  return pool[used++]! / 256; // 256 is a multiple of ULID's 32 symbols: every symbol equally likely
}

const next = monotonicFactory(pooledRandom);

/** Prefixes of every id the system hands out, so an id says what it names. */
export type IdPrefix =
  | 'cmp' // campaign
  | 'brg' // bargain chain
  | 'ent' // purchase entitlement
  | 'grp' // group buy
  | 'inv' // invite binding
  | 'lnk' // link
  | 'shr' // share
  | 'clk' // click
  | 'led' // ledger entry
  | 'pay' // payout
  | 'evt' // event
  | 'dlq' // dead letter
  | 'req'; // request

/** A prefixed, time-sortable id (`brg_01J…`). */
export function newId(prefix: IdPrefix, clock?: Clock): string {
  return `${prefix}_${next(clock ? clock.now() : Date.now())}`;
}

const CODE_ALPHABET = '23456789abcdefghjkmnpqrstuvwxyz'; // no 0/o, 1/l/i: easy to read aloud

/**
 * The code a request with an Idempotency-Key makes (`requestKey`, see the idempotency middleware):
 * the same for every attempt of that request, and as unguessable as a random one (keyed with
 * `secret`), so a retry after a crash finds what the first attempt made instead of making another.
 */
export function keyedCode(secret: string, requestKey: string, length = 8): string {
  const bytes = createHmac('sha256', secret).update(`code:${requestKey}`).digest();
  let out = '';
  for (let i = 0; out.length < length; i++) out += CODE_ALPHABET[bytes[i % bytes.length]! % CODE_ALPHABET.length];
  return out;
}

/** The id a request with an Idempotency-Key makes: the same for every attempt (ULID-shaped, not time-ordered). */
export function keyedId(prefix: IdPrefix, requestKey: string): string {
  const bytes = createHash('sha256').update(`id:${prefix}:${requestKey}`).digest();
  const crockford = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  let out = crockford[bytes[0]! % 8]!; // a ULID's first character is 0–7
  for (let i = 1; i < 26; i++) out += crockford[bytes[i]! % 32];
  return `${prefix}_${out}`;
}

/** A short random code from an unambiguous alphabet; 8 chars ≈ 40 bits, not guessable in sequence. */
export function randomCode(length = 8): string {
  const limit = 256 - (256 % CODE_ALPHABET.length); // rejection sampling: every character equally likely
  let out = '';
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      if (b < limit && out.length < length) out += CODE_ALPHABET[b % CODE_ALPHABET.length];
    }
  }
  return out;
}

export const CODE_PATTERN = /^[23456789abcdefghjkmnpqrstuvwxyz]{4,32}$/;

/**
 * A stable 32-hex-digit name for a tuple of strings (SHA-256 of their JSON): the same parts always
 * give the same digest, and ids holding any character (a `#`, say) never make two tuples one.
 */
export function digestOf(...parts: string[]): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}
