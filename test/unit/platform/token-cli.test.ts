import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { verifyJwt } from '#shared/http/jwt';
import { ROOT } from '../../../infra/lambdas.ts';

/** `npm run token`'s own script, run as npm runs it. */
const TOKEN = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { token: string } }).scripts
  .token;

const run = (args: string) =>
  spawnSync('sh', ['-c', `${TOKEN} ${args}`], {
    cwd: ROOT,
    encoding: 'utf8',
    env: {
      ...process.env,
      JWT_SECRET: 'cli-secret',
      PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}`,
    },
  });

describe('npm run token', () => {
  it('prints a token the server accepts, with the sub, roles and name asked for', () => {
    const r = run("--sub kol-7 --roles 'user, kol' --name '张三' --ttl 120");
    expect(r.status).toBe(0);
    const principal = verifyJwt(r.stdout.trim(), {
      secret: 'cli-secret',
      issuer: 'fission-local',
      audience: 'fission',
      nowSeconds: Math.floor(Date.now() / 1000),
    });
    expect(principal).toEqual({ sub: 'kol-7', roles: ['user', 'kol'], name: '张三' });
  });

  it('prints its usage for --help, and refuses an unknown option, a bad --ttl or an unknown role with it', () => {
    const help = run('--help');
    expect([help.status, help.stdout]).toEqual([0, expect.stringContaining('Usage: npm run -s token')]);
    for (const bad of ['--bogus', '--ttl soon', '--roles user,bogus']) {
      const r = run(bad);
      expect([r.status, r.stderr]).toEqual([2, expect.stringContaining('Usage: npm run -s token')]);
    }
  });
});
