import { handle } from 'hono/aws-lambda';
import { createFullApp } from '#functions/app';
import { createDeps } from '#shared/deps';
import { loadSecrets } from '#shared/secrets';

const deps = createDeps({ env: await loadSecrets() });

/**
 * The `system` Lambda: `/health`, `/openapi.json`, `/docs`, and every path no area claims (the
 * API's default route), answered by the full app so the spec covers every area and unknown
 * paths get the same 404 problem document as locally.
 */
export const handler = handle(createFullApp(deps));
