import { beforeAll, describe, expect, it } from 'vitest';
import { EVENT_NAMES } from '#shared/events/schemas';
import { createHarness, type Harness } from '../../support/harness.ts';

const bargainRules = { sku: 'sku-1', originalPrice: 2000, floorPrice: 500, helpersRequired: 3, durationSeconds: 600 };

describe('Campaigns admin API', () => {
  let h: Harness;
  let admin: string;
  beforeAll(async () => {
    h = await createHarness();
    admin = h.token('admin-1', ['admin']);
  });
  /** PATCH a campaign's status as the admin. */
  const setStatus = (id: string, status: string) =>
    h.call('PATCH', `/v1/admin/campaigns/${id}`, { token: admin, body: { status } });

  it('creates a bargain campaign with defaults filled in, active from creation', async () => {
    const r = await h.call('POST', '/v1/admin/campaigns', {
      token: admin,
      body: { type: 'bargain', title: 'Cut it', rules: bargainRules },
    });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      type: 'bargain',
      status: 'active',
      rules: { ...bargainRules, maxHelpsPerUserPerDay: 5, allowBuyAtCurrentPrice: false },
    });
    expect(r.body.id).toMatch(/^cmp_/);
    const got = await h.call('GET', `/v1/admin/campaigns/${r.body.id}`, { token: admin });
    expect(got.status).toBe(200);
    expect(got.body).toEqual(r.body);
  });

  it.each([
    ['floor not below original', { type: 'bargain', rules: { ...bargainRules, floorPrice: 2000 } }],
    ['spread smaller than helpers', { type: 'bargain', rules: { ...bargainRules, floorPrice: 1999 } }],
    ['helpersRequired over 500', { type: 'bargain', rules: { ...bargainRules, helpersRequired: 501 } }],
    ['float money', { type: 'bargain', rules: { ...bargainRules, originalPrice: 19.99 } }],
    ['unknown rule field', { type: 'bargain', rules: { ...bargainRules, extra: 1 } }],
    [
      'group size 1',
      { type: 'group_buy', rules: { sku: 's', originalPrice: 10, groupPrice: 5, groupSize: 1, durationSeconds: 5 } },
    ],
    ['rateBps over 10000', { type: 'commission', rules: { rateBps: 10001 } }],
    [
      'bad reward asset',
      {
        type: 'invite',
        rules: {
          inviterReward: { asset: 'gold', amount: 1 },
          inviteeReward: { asset: 'points', amount: 1 },
          qualifyingAction: 'signup',
        },
      },
    ],
    ['unknown type', { type: 'lottery', rules: {} }],
  ])('refuses %s with 400 validation_failed and writes nothing', async (_name, body) => {
    const r = await h.call('POST', '/v1/admin/campaigns', { token: admin, body: { title: 'x', ...body } });
    expect(r.status).toBe(400);
    expect(r.headers.get('content-type')).toContain('application/problem+json');
    expect(r.body.code).toBe('validation_failed');
    const page = await h.deps.store.query({ index: 'gsi1', pk: `CAMPAIGNS#${(body as { type: string }).type}` });
    expect(page.items.filter((i) => i.title === 'x')).toHaveLength(0);
  });

  it('refuses malformed JSON, a missing content type and unknown top-level fields', async () => {
    const bad = await h.call('POST', '/v1/admin/campaigns', {
      token: admin,
      raw: '{"type":',
      headers: { 'content-type': 'application/json' },
    });
    expect([bad.status, bad.body.code]).toEqual([400, 'validation_failed']);
    const noType = await h.call('POST', '/v1/admin/campaigns', { token: admin, raw: '{}' });
    expect([noType.status, noType.body.code]).toEqual([400, 'validation_failed']);
    const extra = await h.call('POST', '/v1/admin/campaigns', {
      token: admin,
      body: { type: 'bargain', title: 't', rules: bargainRules, surprise: true },
    });
    expect([extra.status, extra.body.code]).toEqual([400, 'validation_failed']);
  });

  it('is scheduled before startsAt, and pausing makes it inactive; ending is final', async () => {
    const future = new Date(Date.now() + 3600_000).toISOString();
    const s = await h.call('POST', '/v1/admin/campaigns', {
      token: admin,
      body: { type: 'bargain', title: 'later', startsAt: future, rules: bargainRules },
    });
    expect(s.body.status).toBe('scheduled');
    const c = await h.call('POST', '/v1/admin/campaigns', {
      token: admin,
      body: { type: 'bargain', title: 'p', rules: bargainRules },
    });
    const paused = await setStatus(c.body.id, 'paused');
    expect(paused.body.status).toBe('paused');
    const ended = await setStatus(c.body.id, 'ended');
    expect(ended.body.status).toBe('ended');
    const reopen = await setStatus(c.body.id, 'active');
    expect([reopen.status, reopen.body.code]).toEqual([409, 'conflict']);
    const missing = await h.call('PATCH', '/v1/admin/campaigns/cmp_nope', { token: admin, body: { status: 'paused' } });
    expect([missing.status, missing.body.code]).toEqual([404, 'not_found']);
  });

  it('keeps a campaign whose endsAt has passed ended: resuming or pausing it is 409, ending it again 200', async () => {
    const c = await h.call('POST', '/v1/admin/campaigns', {
      token: admin,
      body: { type: 'bargain', title: 'over', endsAt: '2001-01-01T00:00:00Z', rules: bargainRules },
    });
    expect([c.status, c.body.status, c.body.endsAt]).toEqual([201, 'ended', '2001-01-01T00:00:00.000Z']);
    for (const status of ['active', 'paused']) {
      const r = await setStatus(c.body.id, status);
      expect([r.status, r.body.code]).toEqual([409, 'conflict']);
    }
    const again = await setStatus(c.body.id, 'ended');
    expect([again.status, again.body.status]).toEqual([200, 'ended']);
    const read = await h.call('GET', `/v1/admin/campaigns/${c.body.id}`, { token: admin });
    expect(read.body.status).toBe('ended');
  });

  it('answers a resumed campaign that has not started yet as scheduled', async () => {
    const c = await h.call('POST', '/v1/admin/campaigns', {
      token: admin,
      body: {
        type: 'bargain',
        title: 'later',
        startsAt: new Date(Date.now() + 3600_000).toISOString(),
        rules: bargainRules,
      },
    });
    const paused = await setStatus(c.body.id, 'paused');
    expect(paused.body.status).toBe('paused');
    const resumed = await setStatus(c.body.id, 'active');
    expect([resumed.status, resumed.body.status]).toEqual([200, 'scheduled']);
  });

  it('refuses a __proto__ key inside rules, which a plain record would drop unseen', async () => {
    const r = await h.call('POST', '/v1/admin/campaigns', {
      raw: '{"type":"bargain","title":"t","rules":{"__proto__":{"stock":1},"sku":"s","originalPrice":1000,"floorPrice":100,"helpersRequired":3,"durationSeconds":60}}',
      token: admin,
      headers: { 'content-type': 'application/json' },
    });
    expect([r.status, r.body.code]).toEqual([400, 'validation_failed']);
  });

  it.each([
    ['a NUL', 'a\u0000b'],
    ['a line break', 'two\nlines'],
    ['half a surrogate pair', 'a\ud800b'],
  ])('refuses a title with %s (400 validation_failed)', async (_n, title) => {
    const r = await h.call('POST', '/v1/admin/campaigns', {
      token: admin,
      body: { type: 'bargain', title, rules: bargainRules },
    });
    expect([r.status, r.body.code]).toEqual([400, 'validation_failed']);
  });

  it('documents each type’s rules in the spec, as the schemas that validate them', async () => {
    const doc = (await h.call('GET', '/openapi.json')).body;
    const body = doc.paths['/v1/admin/campaigns'].post.requestBody.content['application/json'].schema;
    const refs = body.properties.rules.oneOf.map((s: { $ref: string }) => s.$ref.split('/').pop());
    expect(refs).toEqual(['BargainRules', 'GroupBuyRules', 'InviteRules', 'CommissionRules']);
    const { BargainRules, CommissionRules, Campaign } = doc.components.schemas;
    expect(Object.keys(BargainRules.properties)).toEqual(expect.arrayContaining(['stock', 'newUserBonus']));
    expect(CommissionRules.properties.model.enum).toEqual(['last_click', 'first_click']);
    expect(Campaign.properties.rules.oneOf).toHaveLength(4);
  });

  it('ties a campaign’s rules to its type in the spec, in the request and in the answer', async () => {
    const doc = (await h.call('GET', '/openapi.json')).body;
    const body = doc.paths['/v1/admin/campaigns'].post.requestBody.content['application/json'].schema;
    for (const schema of [body, doc.components.schemas.Campaign]) {
      const tied = Object.fromEntries(
        schema.allOf.map((c: any) => [c.if.properties.type.const, c.then.properties.rules.$ref.split('/').pop()]),
      );
      expect(tied).toEqual({
        bargain: 'BargainRules',
        group_buy: 'GroupBuyRules',
        invite: 'InviteRules',
        commission: 'CommissionRules',
      });
    }
  });

  it('names every operation of the spec with a unique operationId from its method and path', async () => {
    const doc = (await h.call('GET', '/openapi.json')).body;
    const ids = Object.values(doc.paths).flatMap((item: any) =>
      Object.values(item).map((op: any) => op.operationId as string),
    );
    expect(ids.length).toBeGreaterThanOrEqual(37);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^(get|post|patch|delete)[A-Z][A-Za-z]*$/);
    expect(doc.paths['/v1/invites/{code}/accept'].post.operationId).toBe('postInvitesByCodeAccept');
    expect(doc.paths['/v1/group-buys/{id}/members/me'].delete.operationId).toBe('deleteGroupBuysByIdMembersMe');
    expect(doc.paths['/v1/finance/payouts/{id}/items/{payeeId}/fail'].post.operationId).toBe(
      'postFinancePayoutsByIdItemsByPayeeIdFail',
    );
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/health', '/openapi.json', '/docs']));
  });

  it('documents the actions that take no body as taking none or {}, as they answer', async () => {
    const doc = (await h.call('GET', '/openapi.json')).body;
    const noBody: [string, string][] = [
      ['/v1/bargains/{id}/helps', 'post'],
      ['/v1/bargains/{id}/purchase', 'post'],
      ['/v1/invites/{code}/accept', 'post'],
      ['/v1/admin/dead-letters/{id}/redrive', 'post'],
      ['/v1/finance/holds/{entryId}/release', 'post'],
      ['/v1/finance/holds/{entryId}/reject', 'post'],
      ['/v1/group-buys/{id}/members/me', 'delete'],
    ];
    for (const [path, method] of noBody) {
      const body = doc.paths[path][method].requestBody;
      expect(body.required).toBe(false);
      expect(body.content['application/json'].schema).toEqual({ type: 'object', maxProperties: 0 });
    }
    const user = h.token('nobody-user');
    const refused = await h.call('POST', '/v1/invites/NOSUCHCODE/accept', { token: user, body: { x: 1 } });
    expect([refused.status, refused.body.code]).toEqual([400, 'validation_failed']);
    const empty = await h.call('POST', '/v1/invites/NOSUCHCODE/accept', { token: user, body: {} });
    expect(empty.status).toBe(404);
  });

  it('serves /docs as one page that needs no network, naming every operation', async () => {
    const doc = (await h.call('GET', '/openapi.json')).body;
    const page = await h.call('GET', '/docs');
    expect([page.status, page.headers.get('content-type')]).toEqual([200, 'text/html; charset=UTF-8']);
    expect(page.text).not.toMatch(/(?:src|href)="(?:https?:)?\/\//);
    expect(page.text).not.toContain('<script');
    for (const item of Object.values(doc.paths))
      for (const op of Object.values(item as Record<string, { operationId: string }>))
        expect(page.text).toContain(`<code>${op.operationId}</code>`);
  });

  it('describes every event as a webhook of the spec, with the detail schema consumers validate with', async () => {
    const doc = (await h.call('GET', '/openapi.json')).body;
    expect(Object.keys(doc.webhooks).sort()).toEqual([...EVENT_NAMES].sort());
    const attributed = doc.webhooks.OrderAttributed.post.requestBody.content['application/json'].schema;
    expect(attributed.properties['detail-type']).toEqual({ const: 'OrderAttributed' });
    expect(attributed.properties.source).toEqual({ const: 'fission.growth' });
    const { detail } = attributed.properties;
    expect(detail.required).toEqual(expect.arrayContaining(['eventId', 'occurredAt', 'version', 'commission', 'held']));
    expect(detail.properties.version).toMatchObject({ const: 1 });
    // Open to fields a later release adds, as the consumers' own schemas are.
    expect(JSON.stringify(doc.webhooks)).not.toContain('"additionalProperties":false');
    expect((await h.call('GET', '/docs')).text).toContain('BargainStarted (EventBridge, source fission.growth)');
  });

  it('declares Idempotency-Key on every POST of the spec', async () => {
    const doc = (await h.call('GET', '/openapi.json')).body;
    const posts = Object.entries(doc.paths).flatMap(([path, item]: [string, any]) =>
      item.post ? [{ path, names: (item.post.parameters ?? []).map((p: { name: string }) => p.name) }] : [],
    );
    expect(posts.length).toBeGreaterThanOrEqual(18);
    for (const p of posts) expect(p.names, p.path).toContain('Idempotency-Key');
  });

  it('declares the 409 and 422 that Idempotency-Key may answer on every POST of the spec', async () => {
    const doc = (await h.call('GET', '/openapi.json')).body;
    const posts = Object.entries(doc.paths).flatMap(([path, item]: [string, any]) =>
      item.post ? [{ path, responses: item.post.responses }] : [],
    );
    for (const { path, responses } of posts) {
      expect(Object.keys(responses), path).toEqual(expect.arrayContaining(['409', '422']));
      for (const s of ['409', '422'])
        expect(Object.keys(responses[s].content), `${path} ${s}`).toEqual(['application/problem+json']);
      expect(responses['409'].description, path).toContain('idempotency_in_progress');
      expect(responses['409'].headers?.['Retry-After'], path).toBeDefined();
      expect(responses['422'].description, path).toContain('idempotency_key_reused');
    }
    // A route's own conflicts stay listed beside the key's.
    expect(doc.paths['/v1/bargains/{id}/helps'].post.responses['409'].description).toMatch(
      /^conflict, with a specific code; or idempotency_in_progress/,
    );
  });

  it('declares 429 rate_limited, with Retry-After, on every /v1 operation of the spec (each is rate limited)', async () => {
    const doc = (await h.call('GET', '/openapi.json')).body;
    const ops = Object.entries(doc.paths).flatMap(([path, item]: [string, any]) =>
      path.startsWith('/v1/')
        ? Object.entries(item).map(([method, op]: [string, any]) => ({ at: `${method} ${path}`, op }))
        : [],
    );
    expect(ops.length).toBeGreaterThanOrEqual(30);
    for (const { at, op } of ops) {
      expect(op.responses['429'], at).toBeDefined();
      expect(op.responses['429'].content['application/problem+json'].schema, at).toEqual({
        $ref: '#/components/schemas/Problem',
      });
      expect(op.responses['429'].headers?.['Retry-After'], at).toBeDefined();
    }
  });

  it('needs the admin role', async () => {
    const r = await h.call('POST', '/v1/admin/campaigns', {
      token: h.token('u1', ['user']),
      body: { type: 'bargain', title: 't', rules: bargainRules },
    });
    expect([r.status, r.body.code]).toEqual([403, 'forbidden']);
    const anon = await h.call('GET', '/v1/admin/campaigns/cmp_x');
    expect([anon.status, anon.body.code]).toEqual([401, 'unauthorized']);
  });
});
