/**
 * User-Agents of crawlers, link unfurlers and uptime monitors that name themselves: they are
 * redirected to the target as it is (no token, no cookie) and their clicks are not counted. Names, not apps: Baidu's and
 * Telegram's in-app browsers are people (their crawlers say `Baiduspider`, `TelegramBot`), and so
 * is a CUBOT phone. HTTP client libraries (curl,
 * python-requests, Go, Node), and headless browsers are counted: people, apps and test suites
 * follow links with them, and a scraper hiding behind one looks like any visitor anyway.
 */
const BOT_PATTERN =
  /(?<!cu)bot\b|bot\/|crawl|spider|slurp|facebookexternalhit|embedly|iframely|preview|whatsapp|slack|yandex(?:images|metrika|favicons)|bytespider|semrush|ahrefs|mj12|lighthouse|pingdom|uptime|scrapy|feedfetcher|mediapartners|googleother|google-(?:inspectiontool|pagerenderer|read-aloud|safety)|googleimageproxy|apis-google|meta-external|facebookcatalog|vkshare|cardyb|mastodon\/|pleroma|akkoma|misskey\/|feedly|qwantify|statuscake|site24x7|checkly|datadog|newrelicpinger|kakaotalk-scrap|\byeti\/|\bdaum\/|daumoa|pinterest\/0\.|xenu|w3c-checklink|w3c_validator|page ?speed|ia_archiver/i;

/** True for a User-Agent of a known bot. */
export function isBot(userAgent: string | undefined): boolean {
  return userAgent !== undefined && BOT_PATTERN.test(userAgent);
}
