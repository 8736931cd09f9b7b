import type { AreaApp } from '#shared/http/context';

/** One API Gateway route: an HTTP method and a path in API Gateway's `{param}` form. */
export interface HttpRoute {
  method: string;
  path: string;
}

/** Hono's `/v1/x/:id{[0-9]+}/:rest*` becomes API Gateway's `/v1/x/{id}/{rest+}`; `*` becomes `{proxy+}`. */
export function toApiGatewayPath(path: string): string {
  const segments = path.split('/').map((seg) => {
    if (seg === '*') return '{proxy+}';
    if (!seg.startsWith(':')) return seg;
    const name = seg
      .slice(1)
      .replace(/\{.*\}$/, '')
      .replace(/[?*+]$/, '');
    return seg.endsWith('*') || seg.endsWith('+') ? `{${name}+}` : `{${name}}`;
  });
  const out = segments.join('/');
  return out === '' ? '/' : out;
}

/**
 * The routes an area serves, read from its Hono router: middleware-only entries (method ALL)
 * are skipped, each method and path appears once, in the order the area declares them. A GET
 * route brings its HEAD, which Hono answers from the GET handler (a link checker's HEAD of a
 * short link gets the redirect, as it does locally).
 */
export function httpRoutes(app: AreaApp): HttpRoute[] {
  const seen = new Set<string>();
  const out: HttpRoute[] = [];
  const add = (method: string, path: string) => {
    const key = `${method} ${path}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push({ method, path });
  };
  for (const r of app.routes) {
    const method = r.method.toUpperCase();
    if (method === 'ALL') continue;
    const path = toApiGatewayPath(r.path);
    add(method, path);
    if (method === 'GET') add('HEAD', path);
  }
  return out;
}
