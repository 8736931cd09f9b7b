import { Logger } from '@aws-lambda-powertools/logger';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { type Clock, systemClock } from './clock.ts';
import { type Config, loadConfig } from './config.ts';
import type { BusEvent } from './events/schemas.ts';
import { createDocumentClient } from './store/client.ts';
import { Store, type StoreOptions } from './store/store.ts';

/** Delivers an event again to one consumer (dead-letter redrive). */
export type Redeliver = (consumer: string, event: BusEvent) => Promise<void>;

/** What every use case, handler and consumer is given: no module reaches for globals. */
export interface Deps {
  store: Store;
  clock: Clock;
  config: Config;
  log: Logger;
  redeliver: Redeliver;
}

/** Builds the dependencies from the environment: once per process (Lambda cold start, local server). */
export function createDeps(
  overrides: Partial<Deps> & { env?: Record<string, string | undefined>; storeOptions?: StoreOptions } = {},
): Deps {
  const config = overrides.config ?? loadConfig(overrides.env);
  const store =
    overrides.store ??
    new Store(createDocumentClient(config), config.TABLE_NAME, {
      counterRollUpMs: config.COUNTER_ROLLUP_MS,
      ...overrides.storeOptions,
    });
  const log =
    overrides.log ??
    new Logger({
      serviceName: 'fission',
      logLevel: config.LOG_LEVEL === 'SILENT' ? 'SILENT' : config.LOG_LEVEL,
    });
  return {
    store,
    clock: overrides.clock ?? systemClock,
    config,
    log,
    redeliver: overrides.redeliver ?? eventBridgeRedeliver(config),
  };
}

/**
 * On AWS a redrive puts the event back on the bus: every rule matching it sees it again, and
 * consumers, being idempotent by `detail.eventId`, only act where they had not.
 */
function eventBridgeRedeliver(config: Config): Redeliver {
  let client: EventBridgeClient | undefined;
  return async (_consumer, event) => {
    client ??= new EventBridgeClient({ region: config.AWS_REGION });
    const r = await client.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: config.EVENT_BUS_NAME,
            Source: event.source,
            DetailType: event['detail-type'],
            Detail: JSON.stringify(event.detail),
          },
        ],
      }),
    );
    if (r.FailedEntryCount) throw new Error(`PutEvents failed: ${r.Entries?.[0]?.ErrorMessage ?? 'unknown'}`);
  };
}
