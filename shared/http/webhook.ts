import { isUtf8 } from 'node:buffer';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createMiddleware } from 'hono/factory';
import { BadSignatureError, ValidationError } from '../errors.ts';
import type { AppEnv } from './context.ts';

/** How far a webhook's timestamp may be from now, either way. */
export const WEBHOOK_WINDOW_SECONDS = 300;

/** Signs a webhook body the way the shop does: `sha256=` + hex HMAC over `"<timestamp>.<raw body>"`. */
export function signWebhook(secret: string, timestamp: number | string, rawBody: string | Uint8Array): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex')}`;
}

/** Checks `X-Fission-Timestamp` and `X-Fission-Signature` over the raw body; 401 `bad_signature` otherwise. */
export function requireWebhookSignature() {
  return createMiddleware<AppEnv>(async (c, next) => {
    const { config, clock } = c.get('deps');
    const ts = c.req.header('x-fission-timestamp') ?? '';
    const sig = c.req.header('x-fission-signature') ?? '';
    if (!/^\d{1,12}$/.test(ts)) throw new BadSignatureError();
    if (Math.abs(Math.floor(clock.now() / 1000) - Number(ts)) > WEBHOOK_WINDOW_SECONDS)
      throw new BadSignatureError('The webhook timestamp is outside the allowed window.');
    // Signed over the timestamp header exactly as sent and the body's bytes as they came, undecoded.
    const raw = new Uint8Array(await c.req.arrayBuffer());
    const expected = Buffer.from(signWebhook(config.WEBHOOK_SECRET, ts, raw));
    const given = Buffer.from(sig.replace(/^sha256=/i, 'sha256=').toLowerCase());
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new BadSignatureError();
    if (!isUtf8(raw)) throw new ValidationError('The body is not UTF-8.');
    c.set('caller', 'shop');
    await next();
  });
}
