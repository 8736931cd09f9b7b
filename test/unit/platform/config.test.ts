import { describe, expect, it } from 'vitest';
import { loadConfig } from '#shared/config';

describe('Module: config', () => {
  const load = (env: Record<string, string>) => () => loadConfig(env);

  it('takes host names, origins and http(s) base URLs', () => {
    const c = loadConfig({
      ALLOWED_REDIRECT_HOSTS: 'Shop.Example.com, m.example.com,localhost,[::1]',
      CORS_ORIGINS: 'https://shop.example.com,http://localhost:5173',
      PUBLIC_BASE_URL: 'https://s.example.com',
      H5_BASE_URL: 'https://m.example.com/h5',
    });
    expect(c.ALLOWED_REDIRECT_HOSTS).toEqual(['shop.example.com', 'm.example.com', 'localhost', '[::1]']);
    expect(c.CORS_ORIGINS).toEqual(['https://shop.example.com', 'http://localhost:5173']);
    expect(c.h5BaseUrl).toBe('https://m.example.com/h5');
    expect(loadConfig({ CORS_ORIGINS: '*' }).CORS_ORIGINS).toEqual(['*']);
  });

  it('stops on a URL where a host name belongs, a base URL that is not http(s), or an origin with a path', () => {
    expect(load({ ALLOWED_REDIRECT_HOSTS: 'https://shop.example.com, m.example.com' })).toThrow(
      /ALLOWED_REDIRECT_HOSTS: must be host names/,
    );
    expect(load({ ALLOWED_REDIRECT_HOSTS: 'shop.example.com:8443' })).toThrow(/ALLOWED_REDIRECT_HOSTS/);
    expect(load({ H5_BASE_URL: 'ftp://x' })).toThrow(/H5_BASE_URL: must be an http\(s\) URL/);
    expect(load({ PUBLIC_BASE_URL: 'javascript:alert(1)' })).toThrow(/PUBLIC_BASE_URL/);
    expect(load({ CORS_ORIGINS: 'notanorigin' })).toThrow(/CORS_ORIGINS: must be origins/);
    expect(load({ CORS_ORIGINS: 'https://shop.example.com/' })).toThrow(/CORS_ORIGINS/);
  });

  it('reads whole numbers in digits only, and an unset or blank one as its default', () => {
    expect(loadConfig({ RATE_LIMIT_USER_PER_SEC: ' 7 ', SETTLE_GRACE_MINUTES: '0' })).toMatchObject({
      RATE_LIMIT_USER_PER_SEC: 7,
      SETTLE_GRACE_MINUTES: 0,
    });
    expect(loadConfig({ RATE_LIMIT_USER_PER_SEC: '', RATE_LIMIT_IP_PER_SEC: '  ' })).toMatchObject({
      RATE_LIMIT_USER_PER_SEC: 50,
      RATE_LIMIT_IP_PER_SEC: 500,
    });
    for (const bad of ['0x10', '1e3', '-1', '1.5', 'ten'])
      expect(load({ COUNTER_ROLLUP_MS: bad })).toThrow(/COUNTER_ROLLUP_MS: must be a whole number in digits/);
  });
});
