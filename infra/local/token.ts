// npm run token -- --sub u1 --roles user,kol [--name 张三] [--ttl 3600]: prints a JWT the local server accepts.
import { parseArgs } from 'node:util';
import { loadConfig } from '#shared/config';
import { signJwt } from '#shared/http/jwt';

const { values } = parseArgs({
  options: {
    sub: { type: 'string', default: 'u1' },
    roles: { type: 'string', default: 'user' },
    name: { type: 'string' },
    ttl: { type: 'string', default: '3600' },
  },
});
const config = loadConfig();
const token = signJwt(
  { sub: values.sub!, roles: values.roles!.split(',').filter(Boolean), ...(values.name ? { name: values.name } : {}) },
  {
    secret: config.JWT_SECRET,
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    nowSeconds: Math.floor(Date.now() / 1000),
    ttlSeconds: Number(values.ttl),
  },
);
console.log(token);
