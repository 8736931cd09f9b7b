/**
 * User-Agents of crawlers, link unfurlers and uptime monitors that name themselves: they are
 * redirected like anyone else but their clicks are not counted. HTTP client libraries (curl,
 * python-requests, Go, Node), and headless browsers are counted: people, apps and test suites
 * follow links with them, and a scraper hiding behind one looks like any visitor anyway.
 */
const BOT_PATTERN =
  /bot\b|bot\/|crawl|spider|slurp|facebookexternalhit|facebot|embedly|preview|whatsapp|telegram|discord|slack|skypeuripreview|yandex|baidu|bytespider|petalbot|semrush|ahrefs|mj12|lighthouse|pingdom|uptime|scrapy|feedfetcher|mediapartners/i;

/** True for a User-Agent of a known bot. */
export function isBot(userAgent: string | undefined): boolean {
  return userAgent !== undefined && BOT_PATTERN.test(userAgent);
}
