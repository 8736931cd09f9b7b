import { AppError } from '../../errors.ts';

/** 400 `target_not_allowed`: the redirect target is not an allowed https URL. */
export class TargetNotAllowedError extends AppError {
  constructor(reason: string) {
    super(400, 'target_not_allowed', `targetUrl is not allowed: ${reason}.`);
  }
}

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Checks a redirect target against the allowlist and returns it normalized (what the redirect
 * will send). https only (http only for localhost), no credentials, host exactly on the list
 * (case-insensitive; subdomains are not implied), no whitespace or control characters.
 */
export function checkTargetUrl(raw: string, allowedHosts: readonly string[]): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses
  if (/[\s\u0000-\u001f\u007f\\]/.test(raw))
    throw new TargetNotAllowedError('it contains spaces or control characters');
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new TargetNotAllowedError('it is not an absolute URL');
  }
  const host = url.hostname.toLowerCase();
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOCAL_HOSTS.has(host)))
    throw new TargetNotAllowedError('only https URLs are allowed (http only for localhost)');
  if (url.username || url.password) throw new TargetNotAllowedError('credentials in URLs are refused');
  if (!allowedHosts.includes(host)) throw new TargetNotAllowedError(`host ${host} is not in ALLOWED_REDIRECT_HOSTS`);
  return url.href;
}

/** A character the query encoder always escapes, so it marks where the token goes. */
const MARK = '\u0000';
const ENCODED_MARK = '%00';
const TEMPLATES_MAX = 10_000;
/** Per target, the location around its token: the URL is parsed once, not on every redirect. */
const templates = new Map<string, [string, string]>();

/** The redirect location: the target with `fission_ref=<token>` set in its query (the token is base64url: nothing to escape). */
export function withRef(targetUrl: string, token: string): string {
  let t = templates.get(targetUrl);
  if (!t) {
    const url = new URL(targetUrl);
    url.searchParams.set('fission_ref', MARK);
    // Only our parameter can read `fission_ref=%00` in the query: any other `=` there is escaped.
    const param = `fission_ref=${ENCODED_MARK}`;
    // The query starts at the first `?` (none can come before it) and `search` is that query.
    const at = url.href.indexOf('?') + url.search.indexOf(param) + param.length - ENCODED_MARK.length;
    t = [url.href.slice(0, at), url.href.slice(at + ENCODED_MARK.length)];
    if (templates.size >= TEMPLATES_MAX) templates.clear();
    templates.set(targetUrl, t);
  }
  return t[0] + token + t[1];
}
