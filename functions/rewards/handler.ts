import { handle } from 'hono/aws-lambda';
import { createDeps } from '#shared/deps';
import { createApp } from '#shared/http/app';
import { loadSecrets } from '#shared/secrets';
import { rewardsRoutes } from './routes.ts';

const deps = createDeps({ env: await loadSecrets() });
export const handler = handle(createApp(deps, (app) => app.route('/', rewardsRoutes)));
