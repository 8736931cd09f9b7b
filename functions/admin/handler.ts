import { handle } from 'hono/aws-lambda';
import { createDeps } from '#shared/deps';
import { createApp } from '#shared/http/app';
import { loadSecrets } from '#shared/secrets';
import { adminRoutes } from './routes.ts';

const deps = createDeps({ env: await loadSecrets() });

/** The `admin` area's Lambda behind the HTTP API. */
export const handler = handle(createApp(deps, (app) => app.route('/', adminRoutes)));
