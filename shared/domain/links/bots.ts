/**
 * User-Agents of crawlers, link unfurlers and scripted clients: they are redirected like anyone
 * else but their clicks are not counted. Plain `curl` is counted (people try links with it).
 */
const BOT_PATTERN =
  /bot\b|bot\/|crawl|spider|slurp|facebookexternalhit|facebot|embedly|preview|whatsapp|telegram|discord|slack|skypeuripreview|yandex|baidu|bytespider|petalbot|semrush|ahrefs|mj12|headlesschrome|phantomjs|lighthouse|pingdom|uptime|python-requests|python-urllib|aiohttp|go-http-client|scrapy|httpclient|libwww|feedfetcher|mediapartners/i;

/** True for a User-Agent of a known bot. */
export function isBot(userAgent: string | undefined): boolean {
  return userAgent !== undefined && BOT_PATTERN.test(userAgent);
}
