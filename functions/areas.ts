import type { AreaApp } from '#shared/http/context';
import { adminRoutes } from './admin/routes.ts';
import { bargainRoutes } from './bargains/routes.ts';
import { campaignRoutes } from './campaigns/routes.ts';
import { financeRoutes } from './finance/routes.ts';
import { groupBuyRoutes } from './group-buys/routes.ts';
import { inviteRoutes } from './invites/routes.ts';
import { linkRoutes } from './links/routes.ts';
import { orderRoutes } from './orders/routes.ts';
import { rewardsRoutes } from './rewards/routes.ts';

/**
 * The HTTP areas, defined once: each becomes one Lambda behind the HTTP API on AWS
 * (`functions/<name>/handler.ts`), and the local server mounts them all.
 */
export const areas: { name: string; routes: AreaApp }[] = [
  { name: 'campaigns', routes: campaignRoutes },
  { name: 'admin', routes: adminRoutes },
  { name: 'bargains', routes: bargainRoutes },
  { name: 'invites', routes: inviteRoutes },
  { name: 'links', routes: linkRoutes },
  { name: 'orders', routes: orderRoutes },
  { name: 'group-buys', routes: groupBuyRoutes },
  { name: 'rewards', routes: rewardsRoutes },
  { name: 'finance', routes: financeRoutes },
];
