import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { UnauthorizedError } from '#shared/errors';
import { signJwt, verifyJwt } from '#shared/http/jwt';

const opts = { secret: 's3cret', issuer: 'fission-local', audience: 'fission', nowSeconds: 1_800_000_000 };
const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const claims = { sub: 'u1', roles: ['user'], iss: opts.issuer, aud: opts.audience, exp: opts.nowSeconds + 600 };
const hs256 = (header: object, payload: object, secret = opts.secret) => {
  const head = `${enc(header)}.${enc(payload)}`;
  return `${head}.${createHmac('sha256', secret).update(head).digest('base64url')}`;
};

describe('Function: verifyJwt', () => {
  it('accepts a well-formed HS256 token and keeps only known roles', () => {
    const p = verifyJwt(
      hs256({ alg: 'HS256', typ: 'JWT' }, { ...claims, roles: ['user', 'root'], name: '张三' }),
      opts,
    );
    expect(p).toEqual({ sub: 'u1', roles: ['user'], name: '张三' });
  });

  it('keeps a token whose display name is long or not a string: the name is cut to 64 characters or ignored', () => {
    const long = verifyJwt(hs256({ alg: 'HS256' }, { ...claims, name: `名${'x'.repeat(100)}` }), opts);
    expect(Array.from(long.name!)).toHaveLength(64);
    expect(long.name!.startsWith('名x')).toBe(true);
    for (const name of [null, 5, { first: 'A' }])
      expect(verifyJwt(hs256({ alg: 'HS256' }, { ...claims, name }), opts)).toEqual({ sub: 'u1', roles: ['user'] });
    const many = verifyJwt(
      hs256({ alg: 'HS256' }, { ...claims, roles: [...Array(40).keys()].map((i) => `r${i}`).concat('kol') }),
      opts,
    );
    expect(many.roles).toEqual(['kol']);
  });

  it('round-trips signJwt', () => {
    const t = signJwt({ sub: 'k1', roles: ['kol', 'user'] }, opts);
    expect(verifyJwt(t, opts).roles).toEqual(['kol', 'user']);
  });

  it.each([
    ['alg none with no signature', `${enc({ alg: 'none' })}.${enc(claims)}.`],
    ['alg none with a signature', hs256({ alg: 'none' }, claims)],
    ['alg HS512', hs256({ alg: 'HS512' }, claims)],
    ['wrong audience', hs256({ alg: 'HS256' }, { ...claims, aud: 'other' })],
    ['wrong issuer', hs256({ alg: 'HS256' }, { ...claims, iss: 'evil' })],
    ['expired', hs256({ alg: 'HS256' }, { ...claims, exp: opts.nowSeconds - 60 })],
    ['no exp', hs256({ alg: 'HS256' }, { ...claims, exp: undefined })],
    ['no sub', hs256({ alg: 'HS256' }, { ...claims, sub: undefined })],
    ['another secret', hs256({ alg: 'HS256' }, claims, 'guess')],
    ['not a JWT', 'hello'],
    ['empty', ''],
    ['four parts', `${hs256({ alg: 'HS256' }, claims)}.x`],
    ['garbage base64', 'a.b.c'],
  ])('refuses %s', (_name, token) => {
    expect(() => verifyJwt(token, opts)).toThrow(UnauthorizedError);
  });

  it('refuses a header naming critical extensions, and a blank subject', () => {
    expect(() => verifyJwt(hs256({ alg: 'HS256', crit: ['exp'] }, claims), opts)).toThrow(UnauthorizedError);
    expect(() => verifyJwt(hs256({ alg: 'HS256', crit: [] }, claims), opts)).toThrow(UnauthorizedError);
    for (const sub of ['', ' ', '\t\n', 'line\nbreak', 'x'.repeat(129)])
      expect(() => verifyJwt(hs256({ alg: 'HS256' }, { ...claims, sub }), opts)).toThrow(UnauthorizedError);
    expect(verifyJwt(hs256({ alg: 'HS256', typ: 'JWT', kid: 'k1' }, claims), opts).sub).toBe('u1');
    for (const sub of ['用户😀', 'with space', 'x'.repeat(128)])
      expect(verifyJwt(hs256({ alg: 'HS256' }, { ...claims, sub }), opts).sub).toBe(sub);
  });

  it('refuses a tampered payload', () => {
    const [h, , s] = hs256({ alg: 'HS256' }, claims).split('.');
    const forged = `${h}.${enc({ ...claims, roles: ['admin'] })}.${s}`;
    expect(() => verifyJwt(forged, opts)).toThrow(UnauthorizedError);
  });

  it('refuses RS256, including a token HMAC-signed with the public key (key confusion)', () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const head = `${enc({ alg: 'RS256' })}.${enc(claims)}`;
    const rs = `${head}.${sign('sha256', Buffer.from(head), privateKey).toString('base64url')}`;
    expect(() => verifyJwt(rs, opts)).toThrow(UnauthorizedError);
    const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const confused = hs256({ alg: 'RS256' }, claims, pem);
    expect(() => verifyJwt(confused, { ...opts, secret: pem })).toThrow(UnauthorizedError);
  });
});
