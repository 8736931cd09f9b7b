import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { areas as allAreas } from '#functions/areas';
import { rules as allRules, type Rule } from '#shared/events/rules';
import type { AreaApp } from '#shared/http/context';

/** The repository root (where package.json and the lockfile live). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export type LambdaKind =
  | 'area'
  | 'system'
  | 'consumer'
  | 'sweeper'
  | 'outbox-enrich'
  | 'outbox-redrive'
  | 'dead-letter-recorder';

/** One Lambda entry point: the stack deploys it, the benchmark weighs it. */
export interface LambdaEntry {
  kind: LambdaKind;
  /** Area or consumer name; the kind for the singletons. */
  name: string;
  /** Absolute path of the TypeScript entry, which exports `handler`. */
  entry: string;
  description: string;
}

/** Every Lambda entry, derived from the area list and the rule list (nothing listed twice). */
export function lambdaEntries(
  areas: { name: string; routes: AreaApp }[] = allAreas,
  rules: Rule[] = allRules,
): LambdaEntry[] {
  const fn = (...p: string[]) => resolve(ROOT, 'functions', ...p);
  return [
    ...areas.map((a) => ({
      kind: 'area' as const,
      name: a.name,
      entry: fn(a.name, 'handler.ts'),
      description: `Fission HTTP area ${a.name}`,
    })),
    {
      kind: 'system',
      name: 'system',
      entry: fn('system', 'handler.ts'),
      description: 'Fission HTTP system routes (/health, /openapi.json, /docs) and unmatched paths',
    },
    ...rules.map((r) => ({
      kind: 'consumer' as const,
      name: r.consumer,
      entry: fn('consumers', `${r.consumer}.ts`),
      description: `Fission consumer ${r.consumer}: ${r.description}`.slice(0, 256),
    })),
    {
      kind: 'sweeper',
      name: 'sweeper',
      entry: fn('sweeper', 'handler.ts'),
      description: 'Fission expiry sweeper (scheduled every minute)',
    },
    {
      kind: 'outbox-enrich',
      name: 'outbox-enrich',
      entry: fn('outbox', 'enrich.ts'),
      description: 'Fission outbox Pipe enrichment: stream record to event detail-type and detail',
    },
    {
      kind: 'outbox-redrive',
      name: 'outbox-redrive',
      entry: fn('outbox', 'redrive.ts'),
      description: 'Fission outbox redrive: events of stream batches the Pipe gave up on, back onto the bus',
    },
    {
      kind: 'dead-letter-recorder',
      name: 'dead-letter-recorder',
      entry: fn('dead-letters', 'recorder.ts'),
      description: 'Fission dead-letter recorder: SQS dead letters into the table for the admin API',
    },
  ];
}
