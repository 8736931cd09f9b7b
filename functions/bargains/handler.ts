import { handle } from 'hono/aws-lambda';
import { createDeps } from '#shared/deps';
import { createApp } from '#shared/http/app';
import { loadSecrets } from '#shared/secrets';
import { bargainRoutes } from './routes.ts';

const deps = createDeps({ env: await loadSecrets() });

// Lambda entry of the bargains area: start, read, help and purchase chains.
export const handler = handle(createApp(deps, (app) => app.route('/', bargainRoutes)));
