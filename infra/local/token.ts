// npm run token -- --sub u1 --roles user,kol [--name 张三] [--ttl 3600]: prints a JWT the local server accepts.
import { parseArgs } from 'node:util';
import { loadConfig } from '#shared/config';
import { ROLES, signJwt } from '#shared/http/jwt';

const USAGE = `Prints a bearer token (HS256, signed with JWT_SECRET) that the local server accepts.

Usage: npm run -s token -- [--sub <user id>] [--roles <role,role>] [--name <display name>] [--ttl <seconds>]

  --sub    the user id (sub claim); default u1
  --roles  comma-separated: user, kol, finance, admin; default user
  --name   optional display name, shown to others masked
  --ttl    seconds until it expires; default 3600`;

let values: { sub?: string; roles?: string; name?: string; ttl?: string; help?: boolean };
try {
  ({ values } = parseArgs({
    options: {
      sub: { type: 'string', default: 'u1' },
      roles: { type: 'string', default: 'user' },
      name: { type: 'string' },
      ttl: { type: 'string', default: '3600' },
      help: { type: 'boolean', short: 'h' },
    },
  }));
} catch (e) {
  console.error(`${(e as Error).message}\n\n${USAGE}`);
  process.exit(2);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const ttl = Number(values.ttl);
if (!Number.isInteger(ttl) || ttl < 1) {
  console.error(`--ttl must be a whole number of seconds, at least 1.\n\n${USAGE}`);
  process.exit(2);
}
const roles = values
  .roles!.split(',')
  .map((r) => r.trim())
  .filter(Boolean);
const unknown = roles.filter((r) => !(ROLES as readonly string[]).includes(r));
if (unknown.length > 0) {
  console.error(`--roles: unknown role ${unknown.join(', ')} (the server ignores it).\n\n${USAGE}`);
  process.exit(2);
}
const config = loadConfig();
const token = signJwt(
  { sub: values.sub!, roles, ...(values.name ? { name: values.name } : {}) },
  {
    secret: config.JWT_SECRET,
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    nowSeconds: Math.floor(Date.now() / 1000),
    ttlSeconds: ttl,
  },
);
console.log(token);
