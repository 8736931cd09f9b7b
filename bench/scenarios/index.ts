import type { Scenario } from '../scenario.ts';
import { backlogDrainScenario } from './backlog-drain.ts';
import { kolRedirectScenario } from './kol-redirect.ts';
import { lastSlotRaceScenario } from './last-slot-race.ts';
import { orderWebhookScenario } from './order-webhook.ts';
import { settlementScenario } from './settlement.ts';
import { viralChainScenario } from './viral-chain.ts';

/** Every scenario `npm run bench` runs, in order (the base scenarios live in bench/run.ts). */
export const scenarios: Scenario[] = [
  settlementScenario,
  viralChainScenario,
  kolRedirectScenario,
  orderWebhookScenario,
  lastSlotRaceScenario,
  backlogDrainScenario,
];
