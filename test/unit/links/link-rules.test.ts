import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isBot } from '#shared/domain/links/bots';
import { checkTargetUrl, withRef } from '#shared/domain/links/target-url';
import {
  derivedVisitorId,
  deviceHash,
  deviceIdOf,
  isAddressVisitor,
  isUniqueClick,
  newVisitorId,
  UNIQUE_WINDOW_MS,
  visitorFromCookie,
} from '#shared/domain/links/visitor';
import { shareTargetUrl } from '#shared/domain/shares/share-target';

const ALLOWED = ['shop.example.com', 'localhost'];

describe('Redirect targets', () => {
  it('allows https on a listed host and http only for localhost', () => {
    expect(checkTargetUrl('https://shop.example.com/a?b=1#c', ALLOWED)).toBe('https://shop.example.com/a?b=1#c');
    expect(checkTargetUrl('HTTPS://Shop.Example.COM/a', ALLOWED)).toBe('https://shop.example.com/a');
    expect(checkTargetUrl('http://localhost:8080/', ALLOWED)).toBe('http://localhost:8080/');
  });

  it.each([
    'http://shop.example.com/',
    'https://shop.example.com.evil.net/',
    'https://evil.net/?https://shop.example.com/',
    'https://u:p@shop.example.com/',
    'https://u@shop.example.com/',
    'javascript://shop.example.com/%0aalert(1)',
    'JAVASCRIPT:alert(1)',
    'vbscript:msgbox',
    'data:text/html;base64,PHNjcmlwdD4=',
    '//shop.example.com/',
    'https://shop.example.com /x',
    'https://shop.example.com\t/x',
    'https:/\\evil.net',
    'file:///etc/passwd',
    'wss://shop.example.com/',
  ])('refuses %s', (url) => {
    expect(() => checkTargetUrl(url, ALLOWED)).toThrow(
      expect.objectContaining({ code: 'target_not_allowed', status: 400 }),
    );
  });

  it('only ever returns URLs on a listed host (property over arbitrary strings)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.webUrl(), fc.string()), (raw) => {
        try {
          const out = new URL(checkTargetUrl(raw, ALLOWED));
          expect(ALLOWED).toContain(out.hostname);
          expect(out.username + out.password).toBe('');
        } catch (e) {
          expect((e as { code?: string }).code).toBe('target_not_allowed');
        }
      }),
    );
  });

  it('adds the token as the only fission_ref and keeps the rest of the target byte for byte, for any target and token (property)', () => {
    /** The raw query parts of a URL other than fission_ref ones, as sent. */
    const otherParts = (href: string) =>
      new URL(href).search
        .slice(1)
        .split('&')
        .filter((p) => p !== '' && new URLSearchParams(p).keys().next().value !== 'fission_ref');
    const token = fc.stringMatching(/^[A-Za-z0-9_-]{1,60}\.[A-Za-z0-9_-]{43}$/);
    const target = fc
      .oneof(
        fc.webUrl({ withQueryParameters: true, withFragments: true }),
        fc.constantFrom(
          'https://shop.example.com/a%00b?x=%00&fission_ref=old#frag%00',
          'https://shop.example.com/?fission_ref=1&fission_ref=2',
          'https://shop.example.com/p?q=fission_ref%3D%00',
          'https://shop.example.com/p?q=a%20b&r=c+d&s=1;t=2&&x#f?g=1',
          'https://shop.example.com/p?fission%5Fref=old&y=1',
        ),
      )
      .map((t) => new URL(t).href); // what checkTargetUrl stores
    fc.assert(
      fc.property(target, token, (t, a) => {
        const out = withRef(t, a);
        const u = new URL(out);
        const before = new URL(t);
        expect(u.searchParams.getAll('fission_ref')).toEqual([a]);
        expect([u.origin, u.pathname, u.hash]).toEqual([before.origin, before.pathname, before.hash]);
        expect(otherParts(out)).toEqual(otherParts(t));
        expect(out.startsWith(t.split(/[?#]/)[0]!)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps the target’s own query as written: spaces, plus signs and semicolons are the shop’s to read', () => {
    expect(withRef('https://shop.example.com/p?q=a%20b&r=c+d;e=f#top', 'tok')).toBe(
      'https://shop.example.com/p?q=a%20b&r=c+d;e=f&fission_ref=tok#top',
    );
    expect(withRef('https://shop.example.com/p', 'tok')).toBe('https://shop.example.com/p?fission_ref=tok');
    expect(withRef('https://shop.example.com/p?', 'tok')).toBe('https://shop.example.com/p?fission_ref=tok');
  });

  it('sets fission_ref, replacing one the target already had', () => {
    const u = new URL(withRef('https://shop.example.com/p?fission_ref=old&x=1', 'tok'));
    expect(u.searchParams.getAll('fission_ref')).toEqual(['tok']);
    expect(u.searchParams.get('x')).toBe('1');
  });
});

describe('Visitors, bots and unique clicks', () => {
  it('derives a stable visitor id without exposing the IP', () => {
    const a = derivedVisitorId('s', '203.0.113.9', 'UA');
    expect(a).toBe(derivedVisitorId('s', '203.0.113.9', 'UA'));
    expect(a).not.toBe(derivedVisitorId('s', '203.0.113.10', 'UA'));
    expect(a).not.toContain('203');
    expect(visitorFromCookie(a)).toBe(a);
    for (const id of ['v1', 'visitor-17', '0b8f2c3e-6f0a-4c55-9d1e-2f6f3c1a9b7e', 'GA1.2.3:x/y+z=@!']) {
      expect(visitorFromCookie(id)).toBe(id);
    }
    for (const id of ['', 'has space', 'a"b', 'a,b', 'a;b', 'a\\b', 'a~b', 'a%41', 'é', 'x'.repeat(129)]) {
      expect(visitorFromCookie(id)).toBeUndefined();
    }
    expect(visitorFromCookie('x'.repeat(128))).toBe('x'.repeat(128));
  });

  it('tells an IP + User-Agent hash from a browser’s own visitor id', () => {
    expect(isAddressVisitor(derivedVisitorId('s', '203.0.113.9', 'UA'))).toBe(true);
    for (const id of [newVisitorId(), 'visitor-17', '0b8f2c3e-6f0a-4c55-9d1e-2f6f3c1a9b7e', `h${'a'.repeat(26)}`])
      expect(isAddressVisitor(id)).toBe(false);
  });

  it('takes a blank or placeholder device id as no device', () => {
    for (const id of [
      '',
      '  ',
      'unknown',
      'NULL',
      'undefined',
      '(null)',
      'nil',
      'none',
      'n/a',
      '0',
      '00000000-0000-0000-0000-000000000000',
    ])
      expect([id, deviceIdOf(id), deviceHash('s', id)]).toEqual([id, undefined, undefined]);
    for (const id of ['phone-42', ' 0b8f2c3e-6f0a-4c55-9d1e-2f6f3c1a9b7e ', '10', 'unknown-2']) {
      expect(deviceIdOf(id)).toBe(id.trim());
      expect(deviceHash('s', id)).toBe(deviceHash('s', id.trim()));
    }
  });

  it('counts a click unique only 30 minutes after the visitor’s previous one', () => {
    expect(isUniqueClick(0, 1000)).toBe(true);
    expect(isUniqueClick(1000, 1000 + UNIQUE_WINDOW_MS - 1)).toBe(false);
    expect(isUniqueClick(1000, 1000 + UNIQUE_WINDOW_MS)).toBe(true);
  });

  it.each([
    ['Googlebot/2.1 (+http://www.google.com/bot.html)', true],
    ['Mozilla/5.0 (compatible; bingbot/2.0)', true],
    ['facebookexternalhit/1.1', true],
    ['Twitterbot/1.0', true],
    ['Slackbot-LinkExpanding 1.0', true],
    [
      'Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 (compatible; Bytespider)',
      true,
    ],
    ['Scrapy/2.11 (+https://scrapy.org)', true],
    ['Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)', true],
    ['TelegramBot (like TwitterBot)', true],
    ['Discordbot/2.0; +https://discordapp.com', true],
    ['Mozilla/5.0 (compatible; YandexBot/3.0)', true],
    ['GoogleOther', true],
    ['Mozilla/5.0 (compatible; Google-InspectionTool/1.0)', true],
    ['Iframely/1.3.1 (+https://iframely.com/docs/about)', true],
    ['ia_archiver (+http://www.alexa.com/site/help/webmasters)', true],
    ['meta-externalagent/1.1 (+https://developers.facebook.com/docs/sharing/webmasters/crawler)', true],
    ['facebookcatalog/1.0', true],
    ['Mozilla/5.0 (compatible; vkShare; +http://vk.com/dev/Share)', true],
    ['Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko; Google-PageRenderer)', true],
    ['Mozilla/5.0 (Linux; Android 7.0) (compatible; Google-Read-Aloud; +https://support.google.com/webmasters)', true],
    ['Google-Safety', true],
    ['Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)', true],
    ['http.rb/5.1.1 (Mastodon/4.1.0; +https://mastodon.social/)', true],
    ['Bluesky Cardyb/1.1', true],
    ['Mozilla/5.0 (compatible; StatusCake)', true],
    ['Mozilla/5.0 (compatible; Site24x7)', true],
    ['Mozilla/5.0 (compatible; Qwantify/2.4w; +https://www.qwant.com/)/2.4w', true],
    ['Datadog/Synthetics', true],
    ['kakaotalk-scrap/1.0; +https://devtalk.kakao.com/', true],
    ['Mozilla/5.0 (compatible; Yeti/1.1; +http://naver.me/spd)', true],
    ['Mozilla/5.0 (compatible; Daum/4.1; +http://cs.daum.net/faq/15/4118.html)', true],
    ['Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:102.0) Gecko/20100101 Firefox/102.0 Pinterest/0.2', true],
    ['Xenu Link Sleuth/1.3.8', true],
    ['W3C-checklink/4.81 libwww-perl/6.68', true],
    [
      'Mozilla/5.0 (Linux; Android 11) Chrome/120.0 Mobile Safari/537.36 (compatible; Google Page Speed Insights)',
      true,
    ],
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 KAKAOTALK 10.4.5', false],
    ['Mozilla/5.0 (Linux; Android 13) Chrome/120.0 Mobile Safari/537.36 NAVER(inapp; search; 1000; 12.0.1)', false],
    ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Mobile/15E148 [Pinterest/iOS]', false],
    ['Mozilla/5.0 (Linux; Android 13) Chrome/120.0 Mobile Safari/537.36 DaumApps/8.6.0 DaumDevice/mobile', false],
    ['Mozilla/5.0 (Linux; Android 10; ELE-AL00) Mobile Safari/537.36 baiduboxapp/13.40.0.10', false],
    ['Mozilla/5.0 (Linux; Android 10; CUBOT X30) AppleWebKit/537.36 Mobile Safari/537.36', false],
    ['Telegram-Android/10.3.2 (Samsung SM-G991B; Android 13)', false],
    ['Mozilla/5.0 (iPhone) YandexSearch/24.0', false],
    ['Mozilla/5.0 (iPhone) MicroMessenger/8.0', false],
    ['curl/8.5.0', false],
    ['python-requests/2.31', false],
    ['Python/3.11 aiohttp/3.9.1', false],
    ['Go-http-client/1.1', false],
    ['Apache-HttpClient/4.5.14 (Java/17)', false],
    ['node', false],
    [
      'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0 Safari/537.36',
      false,
    ],
  ])('isBot(%s) is %s', (ua, bot) => {
    expect(isBot(ua)).toBe(bot);
  });
});

describe('Share targets', () => {
  it('points at the object’s H5 page', () => {
    expect(shareTargetUrl('https://h5.example.com/', 'group_buy', 'grp_1')).toBe(
      'https://h5.example.com/group-buys/grp_1',
    );
    expect(shareTargetUrl('https://h5.example.com', 'invite', 'abc')).toBe('https://h5.example.com/invites/abc');
  });
});
