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

const TEMPLATES_MAX = 10_000;
/** Per target, the location around its token: the URL is split once, not on every redirect. */
const templates = new Map<string, [string, string]>();

/** Whether a raw query part (`name=value`) is a `fission_ref` parameter, however its name is escaped. */
function isRefParam(part: string): boolean {
  const name = part.split('=', 1)[0]!.replace(/\+/g, ' ');
  try {
    return decodeURIComponent(name) === 'fission_ref';
  } catch {
    return false;
  }
}

/**
 * The redirect location: the target (as checkTargetUrl normalized it) with `fission_ref=<token>`
 * last in its query, replacing any it had. The rest of the query is kept byte for byte (`%20`
 * stays `%20`, `;` stays `;`), since the shop reads it, and the fragment stays after it. The
 * token is base64url: nothing to escape.
 */
export function withRef(targetUrl: string, token: string): string {
  const [head, fragment] = templateOf(targetUrl);
  return `${head}fission_ref=${token}${fragment}`;
}

/** The target with any `fission_ref` of its own taken out: where a visit that gets no token goes. */
export function withoutRef(targetUrl: string): string {
  const [head, fragment] = templateOf(targetUrl);
  return head.slice(0, -1) + fragment; // without the `?` or `&` a token would follow
}

/** The target split around where its token goes: up to `?` or `&` before it, and the fragment. */
function templateOf(targetUrl: string): [string, string] {
  let t = templates.get(targetUrl);
  if (!t) {
    // In a normalized URL the first `#` starts the fragment, and the first `?` before it the query.
    const hashAt = targetUrl.indexOf('#');
    const beforeHash = hashAt < 0 ? targetUrl : targetUrl.slice(0, hashAt);
    const queryAt = beforeHash.indexOf('?');
    const path = queryAt < 0 ? beforeHash : beforeHash.slice(0, queryAt);
    const kept =
      queryAt < 0
        ? []
        : beforeHash
            .slice(queryAt + 1)
            .split('&')
            .filter((p) => p !== '' && !isRefParam(p));
    t = [`${path}?${kept.map((p) => `${p}&`).join('')}`, hashAt < 0 ? '' : targetUrl.slice(hashAt)];
    if (templates.size >= TEMPLATES_MAX) templates.clear();
    templates.set(targetUrl, t);
  }
  return t;
}
