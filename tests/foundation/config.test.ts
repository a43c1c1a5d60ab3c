import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { packageRoot } from '../../src/paths.js';
import { hashPassword, verifyPassword } from '../../src/security/passwords.js';

describe('configuration', () => {
  it('has typed defaults', () => {
    const c = loadConfig({});
    expect(c.port).toBe(8013);
    expect(c.dataDir).toBe(path.resolve('.data'));
    expect(c.databaseUrl).toBeUndefined();
    expect(c.callbackQueue).toBe('callback_tasks');
    expect(c.passwordHashCost).toBe(17);
  });

  it('PLAYSTREAM_PASSWORD_HASH_COST sets the scrypt N of new hashes (the suite runs at 12)', async () => {
    expect(process.env.PLAYSTREAM_PASSWORD_HASH_COST).toBe('12');
    const stored = await hashPassword('pw');
    expect(stored).toMatch(/^scrypt\$4096\$8\$1\$/);
    expect(await verifyPassword('pw', stored)).toBe(true);
    expect(await verifyPassword('other', stored)).toBe(false);
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['DATABASE_URL', 'mysql://x@y/z'],
    ['REDIS_URL', 'not a url'],
    ['SECRET_KEY', 'short'],
    ['PLAYSTREAM_NODE_NAME', 'has spaces'],
    ['PLAYSTREAM_RECEIVER_WORKERS', '0'],
    ['PLAYSTREAM_PASSWORD_HASH_COST', '9'],
  ])('a bad %s (%s) is a ConfigError naming the variable', (name, value) => {
    let error: unknown;
    try { loadConfig({ [name]: value }); } catch (err) { error = err; }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe('PS_ERR_CONFIG');
    expect((error as ConfigError).variable).toBe(name);
    expect((error as Error).message).toContain(name);
  });

  it('`playstream start` with a bad value stops before starting anything, naming the variable', () => {
    const result = spawnSync(process.execPath, [path.join(packageRoot, 'bin/playstream.js'), 'start'], {
      env: { ...process.env, PORT: 'eighty', PLAYSTREAM_DATA_DIR: '/nonexistent/never-created' },
      encoding: 'utf8', timeout: 30_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('invalid PORT');
  });
});
