import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';
import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import { epochSeconds } from '../clock.ts';
import { AppError, ValidationError } from '../errors.ts';
import { digestOf } from '../ids.ts';
import { idempotencyKey } from '../store/keys.ts';
import type { AppEnv } from './context.ts';

/** The longest `Idempotency-Key` taken (API.md: 1–255 characters). */
export const MAX_KEY_LENGTH = 255;

/** Records are kept 25 h (API.md promises at least 24 h). */
export const IDEMPOTENCY_KEEP_SECONDS = 25 * 3600;

/**
 * Whether something made at `createdAt` under an Idempotency-Key can be what a retry of that key
 * now means: made within the key's record. One older was an earlier request's; the key used again
 * now is a new request, which makes its own.
 */
export function madeWithinKeyRecord(createdAt: string, nowMs: number): boolean {
  return nowMs - Date.parse(createdAt) <= IDEMPOTENCY_KEEP_SECONDS * 1000;
}

/**
 * Whether what was made at `madeAt` under `madeKey` (an action's record: a help, a binding, a
 * member) is what the request with `requestKey` made: a retry of it, within the key's record.
 */
export function madeByRequest(
  madeKey: string | undefined,
  madeAt: string,
  requestKey: string | undefined,
  nowMs: number,
): boolean {
  return requestKey !== undefined && madeKey === requestKey && madeWithinKeyRecord(madeAt, nowMs);
}

/**
 * A request still "running" after this long is taken to have died; its key may be used again. On
 * the local server (the table's sole writer) one marked running by an earlier run is taken at once.
 */
const LOCK_SECONDS = 60;
/**
 * Answers larger than this are kept gzipped (a large payout's lines compress about tenfold), and
 * not kept when they are larger than this even so (a DynamoDB item holds 400 KB).
 */
const MAX_REPLAY_BYTES = 300 * 1024;
const gzipped = promisify(gzip);
const gunzipped = promisify(gunzip);
/** Response headers worth replaying. */
const REPLAYED_HEADERS = ['content-type', 'location', 'retry-after', 'cache-control'];

interface IdempotencyRecord {
  status: 'in_progress' | 'completed';
  bodyHash: string;
  lockExpiresAt: number;
  responseStatus?: number;
  responseBody?: string;
  /** The answer's body gzipped, instead of `responseBody`, for a large answer. */
  responseBodyGz?: Uint8Array;
  responseHeaders?: Record<string, string>;
}

/** Same JSON in another key order or spacing is the same body. */
function bodyHash(raw: string): string {
  let canonical = raw;
  try {
    canonical = JSON.stringify(sortKeys(JSON.parse(raw)));
  } catch {
    // not JSON: hash the bytes as sent
  }
  if (raw.trim() === '') canonical = '{}';
  return createHash('sha256').update(canonical).digest('base64url');
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.keys(v as object)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  return v;
}

/** 409 `idempotency_in_progress`: the first request with the key is still running; try again in a second. */
class InProgressError extends AppError {
  constructor() {
    super(409, 'idempotency_in_progress', 'A request with this key is still running.', { 'retry-after': '1' });
  }
}

/**
 * The request's `Idempotency-Key` as its sender wrote it. Node reads header bytes as Latin-1, so
 * a key sent in UTF-8 (`订单-1`) arrives as one character per byte: read it back as UTF-8, so it
 * is the same key, of the same length, on the local server as behind API Gateway.
 */
export function idempotencyKeyOf(c: Context): string | undefined {
  const raw = c.req.header('idempotency-key');
  if (raw === undefined) return raw;
  const bytes = Buffer.from(raw, 'latin1');
  const asBytes = bytes.toString('latin1') === raw; // not so when it came decoded (API Gateway)
  return asBytes && !bytes.every((b) => b < 0x80) && isUtf8(bytes) ? bytes.toString('utf8') : raw;
}

/**
 * `Idempotency-Key` (API.md, Conventions). Scope: caller + method and path + key. The first
 * request claims the key with a conditional write; a repeat with the same body replays the
 * stored answer byte for byte, a different body gets 422, and a repeat while the first is
 * still running gets 409. A 5xx answer releases the key so the client can retry.
 */
export function idempotency() {
  return createMiddleware<AppEnv>(async (c, next) => {
    const key = idempotencyKeyOf(c);
    if (key === undefined) return next();
    const length = [...key].length;
    if (length < 1 || length > MAX_KEY_LENGTH)
      throw new ValidationError(`Idempotency-Key must be 1–${MAX_KEY_LENGTH} characters.`, [
        { path: 'Idempotency-Key', message: `length must be 1–${MAX_KEY_LENGTH}` },
      ]);
    const { store, clock } = c.get('deps');
    const runner = store.options.soleWriterRun;
    const scope = `${c.get('caller') ?? 'anonymous'}#${c.req.method} ${c.req.path}#${key}`;
    c.set('requestKey', digestOf('request', scope));
    const hash = bodyHash(await c.req.text());
    const now = epochSeconds(clock.now());
    const pk = idempotencyKey(scope);
    let previous: IdempotencyRecord | undefined;
    try {
      await store.put(
        {
          ...pk,
          entity: 'idempotency',
          status: 'in_progress',
          bodyHash: hash,
          lockExpiresAt: now + LOCK_SECONDS,
          ...(runner ? { runner } : {}),
          ttl: now + IDEMPOTENCY_KEEP_SECONDS,
        },
        {
          // A request cut off (its lock run out; for a sole writer, marked by an earlier run of it)
          // is taken over by its retry: the same body only, another body is a reused key (422).
          condition: `attribute_not_exists(pk) OR #ttl < :now OR (#status = :running AND bodyHash = :hash AND (lockExpiresAt < :now${runner ? ' OR runner <> :runner' : ''}))`,
          names: { '#ttl': 'ttl', '#status': 'status' },
          values: { ':now': now, ':running': 'in_progress', ':hash': hash, ...(runner ? { ':runner': runner } : {}) },
          onFail: (old) => {
            previous = old as IdempotencyRecord | undefined;
            return new IdempotencyHit();
          },
        },
      );
    } catch (e) {
      if (!(e instanceof IdempotencyHit)) throw e;
      previous ??= (await store.get<IdempotencyRecord>(pk, true)) ?? undefined;
      if (!previous) throw new InProgressError();
      if (previous.bodyHash !== hash)
        throw new AppError(422, 'idempotency_key_reused', 'This Idempotency-Key was used with a different body.');
      if (previous.status !== 'completed') throw new InProgressError();
      const replayed = previous.responseBodyGz
        ? (await gunzipped(previous.responseBodyGz)).toString('utf8')
        : (previous.responseBody ?? null);
      return new Response(replayed, {
        status: previous.responseStatus ?? 200,
        headers: { ...previous.responseHeaders, 'idempotent-replayed': 'true' },
      });
    }

    await next();

    const res = c.res;
    // A 5xx, or an answer that asks for the request again (Retry-After: lost to concurrent writes,
    // rate limited), is not the request's outcome: the key is free for the retry.
    if (res.status >= 500 || res.headers.has('retry-after')) {
      await store.delete(pk).catch(() => undefined);
      return;
    }
    const headers: Record<string, string> = {};
    for (const h of REPLAYED_HEADERS) {
      const v = res.headers.get(h);
      if (v !== null) headers[h] = v;
    }
    const body = await res.clone().text();
    const stored =
      Buffer.byteLength(body) > MAX_REPLAY_BYTES ? { responseBodyGz: await gzipped(body) } : { responseBody: body };
    if ((stored.responseBodyGz?.length ?? Buffer.byteLength(body)) > MAX_REPLAY_BYTES) {
      // Too big to keep for a replay: release the key rather than fail an answer that committed.
      await store.delete(pk).catch(() => undefined);
      return;
    }
    await store
      .put({
        ...pk,
        entity: 'idempotency',
        status: 'completed',
        bodyHash: hash,
        lockExpiresAt: now,
        responseStatus: res.status,
        ...stored,
        responseHeaders: headers,
        ttl: now + IDEMPOTENCY_KEEP_SECONDS,
      })
      .catch((e) => c.get('deps').log.error('idempotency record not saved', { error: e as Error, scope }));
  });
}

class IdempotencyHit extends Error {}
