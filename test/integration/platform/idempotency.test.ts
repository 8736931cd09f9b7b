import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '#shared/http/app';
import { requireAuth } from '#shared/http/auth';
import { idempotency } from '#shared/http/idempotency';
import { createHarness, type Harness } from '../../support/harness.ts';

const rules = { sku: 'sku-1', originalPrice: 2000, floorPrice: 500, helpersRequired: 3, durationSeconds: 600 };

async function campaignsTitled(h: Harness, title: string): Promise<number> {
  const all = await h.deps.store.queryAll({ index: 'gsi1', pk: 'CAMPAIGNS#bargain' });
  return all.filter((i) => i.title === title).length;
}

describe('Middleware: idempotency', () => {
  let h: Harness;
  let admin: string;
  beforeAll(async () => {
    h = await createHarness();
    admin = h.token('admin-idem', ['admin']);
  });

  it('replays the first answer byte for byte and creates the campaign once', async () => {
    const body = { type: 'bargain', title: 'idem-replay', rules };
    const headers = { 'idempotency-key': 'k-replay' };
    const first = await h.call('POST', '/v1/admin/campaigns', { token: admin, body, headers });
    const second = await h.call('POST', '/v1/admin/campaigns', { token: admin, body, headers });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.text).toBe(first.text);
    expect(second.headers.get('content-type')).toBe(first.headers.get('content-type'));
    expect(await campaignsTitled(h, 'idem-replay')).toBe(1);
  });

  it('treats the same JSON in another key order as the same body', async () => {
    const headers = { 'idempotency-key': 'k-order' };
    const a = await h.call('POST', '/v1/admin/campaigns', {
      token: admin,
      raw: JSON.stringify({ type: 'bargain', title: 'idem-order', rules }),
      headers: { ...headers, 'content-type': 'application/json' },
    });
    const b = await h.call('POST', '/v1/admin/campaigns', {
      token: admin,
      raw: JSON.stringify({ rules, title: 'idem-order', type: 'bargain' }),
      headers: { ...headers, 'content-type': 'application/json' },
    });
    expect(b.text).toBe(a.text);
    expect(await campaignsTitled(h, 'idem-order')).toBe(1);
  });

  it('answers 422 idempotency_key_reused for the same key with another body, and writes nothing', async () => {
    const headers = { 'idempotency-key': 'k-reuse' };
    await h.call('POST', '/v1/admin/campaigns', {
      token: admin,
      body: { type: 'bargain', title: 'idem-a', rules },
      headers,
    });
    const r = await h.call('POST', '/v1/admin/campaigns', {
      token: admin,
      body: { type: 'bargain', title: 'idem-b', rules },
      headers,
    });
    expect(r.status).toBe(422);
    expect(r.body.code).toBe('idempotency_key_reused');
    expect(r.headers.get('content-type')).toContain('application/problem+json');
    expect(await campaignsTitled(h, 'idem-b')).toBe(0);
  });

  it('scopes keys by caller: another admin with the same key gets its own campaign', async () => {
    const body = { type: 'bargain', title: 'idem-scope', rules };
    const headers = { 'idempotency-key': 'k-scope' };
    const a = await h.call('POST', '/v1/admin/campaigns', { token: admin, body, headers });
    const b = await h.call('POST', '/v1/admin/campaigns', { token: h.token('admin-2', ['admin']), body, headers });
    expect(a.body.id).not.toBe(b.body.id);
    expect(await campaignsTitled(h, 'idem-scope')).toBe(2);
  });

  it('refuses an empty or over-long key with 400', async () => {
    const body = { type: 'bargain', title: 'idem-long', rules };
    for (const key of ['', 'x'.repeat(256)]) {
      const r = await h.call('POST', '/v1/admin/campaigns', {
        token: admin,
        body,
        headers: { 'idempotency-key': key },
      });
      expect([r.status, r.body.code]).toEqual([400, 'validation_failed']);
    }
    expect(await campaignsTitled(h, 'idem-long')).toBe(0);
  });

  it('counts a key in characters: a UTF-8 key as Node reads it (one character per byte) is the key its sender wrote', async () => {
    const asNodeReadsIt = (key: string) => Buffer.from(key, 'utf8').toString('latin1');
    const body = { type: 'bargain', title: 'idem-utf8', rules };
    const key = `${'订'.repeat(250)}-单号`; // 253 characters, 755 bytes
    const first = await h.call('POST', '/v1/admin/campaigns', {
      token: admin,
      body,
      headers: { 'idempotency-key': asNodeReadsIt(key) },
    });
    const again = await h.call('POST', '/v1/admin/campaigns', {
      token: admin,
      body,
      headers: { 'idempotency-key': asNodeReadsIt(key) },
    });
    expect([first.status, again.status, again.text]).toEqual([201, 201, first.text]);
    expect(await campaignsTitled(h, 'idem-utf8')).toBe(1);
    const tooLong = await h.call('POST', '/v1/admin/campaigns', {
      token: admin,
      body: { ...body, title: 'idem-utf8-long' },
      headers: { 'idempotency-key': asNodeReadsIt('订'.repeat(256)) },
    });
    expect([tooLong.status, tooLong.body.code]).toEqual([400, 'validation_failed']);
  });

  it('has exactly one effect for 50 concurrent requests with one key', async () => {
    const body = { type: 'bargain', title: 'idem-50', rules };
    const rs = await Promise.all(
      Array.from({ length: 50 }, () =>
        h.call('POST', '/v1/admin/campaigns', { token: admin, body, headers: { 'idempotency-key': 'k-50' } }),
      ),
    );
    expect(await campaignsTitled(h, 'idem-50')).toBe(1);
    const created = rs.filter((r) => r.status === 201);
    const running = rs.filter((r) => r.status === 409);
    expect(created.length + running.length).toBe(50);
    expect(new Set(created.map((r) => r.body.id)).size).toBe(1);
    for (const r of running)
      expect([r.body.code, r.headers.get('retry-after')]).toEqual(['idempotency_in_progress', '1']);
  });

  it('answers 409 idempotency_in_progress while the first request runs, then replays', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let effects = 0;
    const app = createApp(h.deps, (a) => {
      a.post('/v1/slow', requireAuth('user'), idempotency(), async (c) => {
        effects++;
        await gate;
        return c.json({ n: effects }, 201);
      });
    });
    const init = (key: string) => ({
      method: 'POST',
      body: '{}',
      headers: {
        authorization: `Bearer ${h.token('slow-user')}`,
        'content-type': 'application/json',
        'idempotency-key': key,
      },
    });
    const first = app.request('/v1/slow', init('k-slow'));
    await new Promise((r) => setTimeout(r, 100));
    const during = await app.request('/v1/slow', init('k-slow'));
    expect(during.status).toBe(409);
    expect(((await during.json()) as { code: string }).code).toBe('idempotency_in_progress');
    release();
    const done = await first;
    const after = await app.request('/v1/slow', init('k-slow'));
    expect(done.status).toBe(201);
    expect(after.status).toBe(201);
    expect(await after.text()).toBe(await done.text());
    expect(effects).toBe(1);
  });

  it('releases the key after a 5xx so the client can retry', async () => {
    let calls = 0;
    const app = createApp(h.deps, (a) => {
      a.post('/v1/flaky', requireAuth('user'), idempotency(), async (c) => {
        calls++;
        if (calls === 1) throw new Error('boom');
        return c.json({ ok: true }, 201);
      });
    });
    const init = {
      method: 'POST',
      body: '{}',
      headers: {
        authorization: `Bearer ${h.token('flaky-user')}`,
        'content-type': 'application/json',
        'idempotency-key': 'k-flaky',
      },
    };
    expect((await app.request('/v1/flaky', init)).status).toBe(500);
    expect((await app.request('/v1/flaky', init)).status).toBe(201);
    expect(calls).toBe(2);
  });
});
