import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '#shared/http/app';
import { requireWebhookSignature, signWebhook } from '#shared/http/webhook';
import { createHarness, type Harness } from '../../support/harness.ts';

describe('HTTP auth, roles, webhook signatures and rate limits', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness({ env: { RATE_LIMIT_USER_PER_SEC: '5', RATE_LIMIT_IP_PER_SEC: '0' } });
  });

  it.each([
    ['no header', undefined],
    ['not bearer', 'Basic dXNlcjpwYXNz'],
    ['garbage token', 'Bearer abc.def.ghi'],
  ])('answers 401 unauthorized problem for %s', async (_n, authorization) => {
    const r = await h.call('GET', '/v1/admin/campaigns/cmp_x', { headers: authorization ? { authorization } : {} });
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ status: 401, code: 'unauthorized', title: 'Unauthorized' });
    expect(r.headers.get('www-authenticate')).toBe('Bearer');
    expect(r.headers.get('content-type')).toContain('application/problem+json');
  });

  it('answers 403 forbidden to a valid token without the role', async () => {
    const r = await h.call('GET', '/v1/admin/campaigns/cmp_x', { token: h.token('u1', ['user', 'kol', 'finance']) });
    expect([r.status, r.body.code]).toEqual([403, 'forbidden']);
  });

  it('limits a user to the configured rate with 429 rate_limited and Retry-After', async () => {
    const token = h.token('busy-admin', ['admin']);
    const rs = await Promise.all(
      Array.from({ length: 12 }, () => h.call('GET', '/v1/admin/campaigns/cmp_none', { token })),
    );
    const limited = rs.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThanOrEqual(6);
    expect(limited[0]!.body.code).toBe('rate_limited');
    expect(Number(limited[0]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(rs.filter((r) => r.status === 404).length).toBeLessThanOrEqual(6);
  });

  it('refuses a body over 64 KiB with 400 validation_failed before reading it all', async () => {
    const raw = JSON.stringify({ type: 'bargain', title: 'x'.repeat(70_000), rules: {} });
    const r = await h.call('POST', '/v1/admin/campaigns', {
      token: h.token('big-admin', ['admin']),
      raw,
      headers: { 'content-type': 'application/json' },
    });
    expect([r.status, r.body.code]).toEqual([400, 'validation_failed']);
  });

  it('answers a browser preflight with the CORS headers frontends need', async () => {
    const r = await h.call('OPTIONS', '/v1/bargains', {
      headers: {
        origin: 'https://h5.example.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,idempotency-key,x-requested-with',
      },
    });
    expect(r.status).toBe(204);
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
    expect(r.headers.get('access-control-allow-headers')).toContain('idempotency-key');
  });

  it('limits an address with a 429 a browser can read, and never limits preflights', async () => {
    const limited = await createHarness({ env: { RATE_LIMIT_USER_PER_SEC: '0', RATE_LIMIT_IP_PER_SEC: '3' } });
    const origin = { origin: 'https://h5.example.com' };
    const preflights = await Promise.all(
      Array.from({ length: 20 }, () =>
        limited.call('OPTIONS', '/v1/bargains', {
          headers: { ...origin, 'access-control-request-method': 'POST' },
        }),
      ),
    );
    expect(preflights.map((r) => r.status)).toEqual(Array(20).fill(204));
    const rs = await Promise.all(
      Array.from({ length: 10 }, () => limited.call('GET', '/v1/invites/nope2345', { headers: origin })),
    );
    const tooMany = rs.filter((r) => r.status === 429);
    expect(tooMany.length).toBeGreaterThanOrEqual(5);
    expect(tooMany[0]!.body.code).toBe('rate_limited');
    expect(tooMany[0]!.headers.get('access-control-allow-origin')).toBe('*');
    expect(tooMany[0]!.headers.get('access-control-expose-headers')).toContain('retry-after');
  });

  it('answers unknown routes with a 404 problem', async () => {
    const r = await h.call('GET', '/v1/nothing-here');
    expect([r.status, r.body.code]).toEqual([404, 'not_found']);
  });

  describe('webhook signatures', () => {
    const app = () =>
      createApp(h.deps, (a) => {
        a.post('/v1/hook-test', requireWebhookSignature(), async (c) =>
          c.json({ ok: true, body: await c.req.json() }, 201),
        );
      });
    const now = () => Math.floor(h.clock.now() / 1000);
    const send = (raw: string | Uint8Array, ts: number | string, sig: string | undefined) =>
      app().request('/v1/hook-test', {
        method: 'POST',
        body: raw,
        headers: {
          'content-type': 'application/json',
          'x-fission-timestamp': String(ts),
          ...(sig ? { 'x-fission-signature': sig } : {}),
        },
      });

    it('accepts a correct signature over the raw body', async () => {
      const raw = '{"orderId":"o1"}';
      const r = await send(raw, now(), signWebhook(h.deps.config.WEBHOOK_SECRET, now(), raw));
      expect(r.status).toBe(201);
    });

    it('checks the signature over the body’s bytes: a BOM is signed and then ignored, bytes that are not UTF-8 are 400', async () => {
      const secret = h.deps.config.WEBHOOK_SECRET;
      const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"orderId":"o4"}')]);
      const withBom = await send(bom, now(), signWebhook(secret, now(), bom));
      expect([withBom.status, ((await withBom.json()) as { body: unknown }).body]).toEqual([201, { orderId: 'o4' }]);
      const unsignedBom = await send(bom, now(), signWebhook(secret, now(), bom.subarray(3)));
      expect(unsignedBom.status).toBe(401);
      const latin1 = Buffer.from('{"orderId":"\xff"}', 'latin1');
      const r = await send(latin1, now(), signWebhook(secret, now(), latin1));
      expect([r.status, ((await r.json()) as { code: string }).code]).toEqual([400, 'validation_failed']);
    });

    it('checks the signature over the timestamp header exactly as sent', async () => {
      const raw = '{"orderId":"o3"}';
      const padded = `0${now()}`;
      const r = await send(raw, padded, signWebhook(h.deps.config.WEBHOOK_SECRET, padded, raw));
      expect(r.status).toBe(201);
      const renumbered = await send(raw, padded, signWebhook(h.deps.config.WEBHOOK_SECRET, now(), raw));
      expect(renumbered.status).toBe(401);
    });

    it.each([
      ['missing signature', (raw: string, ts: number) => [raw, ts, undefined] as const],
      ['wrong secret', (raw: string, ts: number) => [raw, ts, signWebhook('nope', ts, raw)] as const],
      [
        'body changed after signing',
        (raw: string, ts: number) => [`${raw} `, ts, signWebhook(h.deps.config.WEBHOOK_SECRET, ts, raw)] as const,
      ],
      [
        'timestamp 301 s old',
        (raw: string, ts: number) => [raw, ts - 301, signWebhook(h.deps.config.WEBHOOK_SECRET, ts - 301, raw)] as const,
      ],
      [
        'timestamp 301 s ahead',
        (raw: string, ts: number) => [raw, ts + 301, signWebhook(h.deps.config.WEBHOOK_SECRET, ts + 301, raw)] as const,
      ],
      [
        'signature without prefix',
        (raw: string, ts: number) => [raw, ts, signWebhook(h.deps.config.WEBHOOK_SECRET, ts, raw).slice(7)] as const,
      ],
    ])('answers 401 bad_signature for %s', async (_n, make) => {
      const [raw, ts, sig] = make('{"orderId":"o2"}', now());
      const r = await send(raw, ts, sig);
      expect(r.status).toBe(401);
      expect(((await r.json()) as { code: string }).code).toBe('bad_signature');
    });
  });
});
