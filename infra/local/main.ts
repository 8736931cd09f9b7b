// npm start: the whole backend on http://localhost:3000 (PORT), data kept under .data/ (DATA_DIR).
import { loadConfig } from '#shared/config';

/** A whole-number setting from the environment, or its default; a bad value stops the start with its name. */
function intSetting(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n < min || n > max) {
    console.error(`Could not start: ${name} must be a whole number from ${min} to ${max} (it is "${raw}").`);
    process.exit(1);
  }
  return n;
}

const port = intSetting('PORT', 3000, 0, 65535);
const dataDir = process.env.DATA_DIR || '.data/dynamodb';
const sweepIntervalMs = intSetting('SWEEP_INTERVAL_MS', 1000, 50, 3_600_000);

// Short links and share pages point at this server unless told otherwise.
process.env.PUBLIC_BASE_URL ??= `http://localhost:${port}`;

for (const name of ['JWT_SECRET', 'WEBHOOK_SECRET'])
  if (process.env[name] === undefined) console.warn(`${name} is not set: using the development default "change-me".`);
// Links need somewhere to point: locally, the example shop and this machine unless told otherwise.
if (process.env.ALLOWED_REDIRECT_HOSTS === undefined) {
  process.env.ALLOWED_REDIRECT_HOSTS = 'shop.example.com,localhost';
  console.warn('ALLOWED_REDIRECT_HOSTS is not set: using the development default "shop.example.com,localhost".');
}

// Every other setting is checked here, before the modules that read them load: one clear line, no stack.
try {
  loadConfig();
} catch (e) {
  console.error(`Could not start: ${(e as Error).message}`);
  process.exit(1);
}
const { startLocalRuntime } = await import('./runtime.ts');

/** A stop that takes longer than this (a database that went away, say) ends the process anyway. */
const STOP_DEADLINE_MS = 30_000;
/**
 * Signals this soon after the first are the same Ctrl-C relayed again (npm passes a terminal's
 * SIGINT on to its child), not a second one.
 */
const SAME_SIGNAL_MS = 2000;

let runtime: Awaited<ReturnType<typeof startLocalRuntime>> | undefined;
let stoppingSince: number | undefined;
async function shutdown(code: number): Promise<void> {
  if (stoppingSince !== undefined) {
    if (Date.now() - stoppingSince < SAME_SIGNAL_MS) return;
    // A second Ctrl-C: stop now (DynamoDB Local is killed on exit).
    console.error('Stopping at once.');
    process.exit(code || 1);
  }
  stoppingSince = Date.now();
  setTimeout(() => {
    console.error(`Stopping took over ${STOP_DEADLINE_MS / 1000} s: exiting.`);
    process.exit(1);
  }, STOP_DEADLINE_MS).unref();
  try {
    await runtime?.stop();
  } finally {
    process.exit(code);
  }
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));
// A closed terminal: DynamoDB Local runs in its own process group and would not get the hangup.
process.on('SIGHUP', () => void shutdown(0));
process.on('uncaughtException', (e) => {
  console.error(e);
  void shutdown(1);
});
process.on('unhandledRejection', (e) => {
  console.error(e);
  void shutdown(1);
});

try {
  runtime = await startLocalRuntime({
    port,
    dataDir,
    sweepIntervalMs,
    // Nothing can be served or written without it: exit, so the terminal shows it.
    onDatabaseLost: (why) => {
      console.error(`${why}: Fission stops. Run npm start again.`);
      process.exit(1);
    },
  });
  console.log(`Fission is listening on ${runtime.url} (docs: ${runtime.url}/docs, data: ${dataDir})`);
} catch (e) {
  console.error(`Could not start: ${(e as Error).message}`);
  await shutdown(1);
}
