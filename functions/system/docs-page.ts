/** Renders the OpenAPI document as one self-contained HTML page: no scripts, no fonts, no network. */
export function renderDocsPage(doc: OpenApiDoc): string {
  const ops: string[] = [];
  const byTag = new Map<string, string[]>();
  for (const [path, item] of [...Object.entries(doc.paths ?? {}), ...Object.entries(doc.webhooks ?? {})]) {
    for (const [method, op] of Object.entries(item as Record<string, Operation>)) {
      const tag = op.tags?.[0] ?? 'Other';
      const id = `${method}-${path}`.replace(/[^a-zA-Z0-9]+/g, '-');
      const html = `<section class="op" id="${id}">
  <h3><span class="m ${method}">${method.toUpperCase()}</span> <code>${esc(path)}</code></h3>
  ${op.summary ? `<p><strong>${esc(op.summary)}</strong></p>` : ''}
  ${op.description ? `<p>${esc(op.description)}</p>` : ''}
  ${op.operationId ? `<p class="sec">Operation id: <code>${esc(op.operationId)}</code></p>` : ''}
  ${op.security?.length ? `<p class="sec">Auth: ${op.security.map((s) => Object.keys(s).join(', ')).join(' or ')}</p>` : ''}
  ${op.parameters?.length ? `<h4>Parameters</h4><ul>${op.parameters.map((p) => `<li><code>${esc(p.name)}</code> (${p.in}${p.required ? ', required' : ''})${p.description ? ` — ${esc(p.description)}` : ''}</li>`).join('')}</ul>` : ''}
  ${op.requestBody ? `<h4>Body</h4><pre>${esc(JSON.stringify(op.requestBody.content?.['application/json']?.schema ?? {}, null, 2))}</pre>` : ''}
  <h4>Responses</h4><ul>${Object.entries(op.responses ?? {})
    .map(([s, r]) => `<li><code>${s}</code> ${esc((r as { description?: string }).description ?? '')}</li>`)
    .join('')}</ul>
</section>`;
      const list = byTag.get(tag) ?? [];
      list.push(html);
      byTag.set(tag, list);
      ops.push(`<li><a href="#${id}"><span class="m ${method}">${method.toUpperCase()}</span> ${esc(path)}</a></li>`);
    }
  }
  const sections = [...byTag.entries()].map(([tag, list]) => `<h2>${esc(tag)}</h2>${list.join('\n')}`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(doc.info?.title ?? 'API')} — reference</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:0;display:flex}nav{width:320px;height:100vh;overflow:auto;position:sticky;top:0;background:#f6f6f8;padding:1em;box-sizing:border-box;font-size:13px}
nav ul{list-style:none;padding:0}main{flex:1;padding:1em 2em;max-width:960px}pre{background:#f3f3f3;padding:.8em;overflow:auto;font-size:12px}
.m{display:inline-block;min-width:4.2em;font-weight:600;font-size:12px}.get{color:#1a7f37}.post{color:#0550ae}.patch{color:#8250df}.delete{color:#cf222e}
.op{border-top:1px solid #ddd;padding-top:.5em}.sec{color:#555}a{text-decoration:none;color:inherit}
</style></head><body>
<nav><h1>${esc(doc.info?.title ?? 'API')}</h1><p>v${esc(doc.info?.version ?? '')} · <a href="/openapi.json">openapi.json</a></p><ul>${ops.join('')}</ul></nav>
<main><h1>${esc(doc.info?.title ?? 'API')}</h1><p>${esc(doc.info?.description ?? '')}</p>${sections}</main>
</body></html>`;
}

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch]!);

interface Operation {
  operationId?: string;
  tags?: string[];
  summary?: string;
  description?: string;
  security?: Record<string, unknown>[];
  parameters?: { name: string; in: string; required?: boolean; description?: string }[];
  requestBody?: { content?: Record<string, { schema?: unknown }> };
  responses?: Record<string, unknown>;
}
export interface OpenApiDoc {
  info?: { title?: string; version?: string; description?: string };
  paths?: Record<string, unknown>;
  /** Events, which consumers receive rather than call. */
  webhooks?: Record<string, unknown>;
}
