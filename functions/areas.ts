import type { AreaApp } from '#shared/http/context';
import { adminRoutes } from './admin/routes.ts';
import { bargainRoutes } from './bargains/routes.ts';
import { campaignRoutes } from './campaigns/routes.ts';
import { groupBuyRoutes } from './group-buys/routes.ts';
import { inviteRoutes } from './invites/routes.ts';

/**
 * The HTTP areas, defined once: each becomes one Lambda behind the HTTP API on AWS
 * (`functions/<name>/handler.ts`), and the local server mounts them all.
 */
export const areas: { name: string; routes: AreaApp }[] = [
  { name: 'campaigns', routes: campaignRoutes },
  { name: 'admin', routes: adminRoutes },
  { name: 'bargains', routes: bargainRoutes },
  { name: 'invites', routes: inviteRoutes },
  { name: 'group-buys', routes: groupBuyRoutes },
];
