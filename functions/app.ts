import type { Deps } from '#shared/deps';
import { createApp } from '#shared/http/app';
import type { AreaApp } from '#shared/http/context';
import { areas } from './areas.ts';
import { mountSystemRoutes } from './system/routes.ts';

/** Every area plus the system routes: the local server's app, and the `system` Lambda's. */
export function createFullApp(deps: Deps): AreaApp {
  return createApp(deps, (app) => {
    for (const area of areas) app.route('/', area.routes);
    mountSystemRoutes(app);
  });
}
