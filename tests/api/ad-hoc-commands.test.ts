import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertCredential } from '../../src/db/credentials.js';
import { seedFirstStart } from '../../src/db/seed.js';
import { useTestEnv, type TestEnv } from '../support/harness.js';
import { apiRequest, basicAuth, grantRole, startTestWeb, webHeard } from '../support/web.js';
import { createUser } from '../ws/ws-client.js';
import { createProjectAndInventory, orgId, startJobStack, storedStdout, waitForProcessed } from '../scheduler/support.js';

/**
 * Issue #15: ad hoc commands launched over the API (AWX's POST /ad_hoc_commands/ and
 * /inventories/N/ad_hoc_commands/, and relaunch), run for real by the dispatcher. The
 * attacks come first: running a command needs adhoc_role on the inventory and use of the
 * credential, and a relaunch needs them again.
 */
const ADMIN = basicAuth('admin', 'admin-password');
const BOB = basicAuth('bob', 'bob-pw');

let t: TestEnv;
let url: string;
let org: number;
let project: number;
let inventory: number;
let bob: number;
let machine: number;
let stack: Awaited<ReturnType<typeof startJobStack>> | undefined;

const api = (method: string, path: string, body?: unknown, who = ADMIN) => apiRequest(url, method, path, body, who);
const commandCount = async () => (await t.pool.query(`SELECT count(*)::int AS n FROM unified_jobs WHERE kind = 'ad_hoc_command'`)).rows[0].n;

beforeAll(async () => {
  t = await useTestEnv();
  await seedFirstStart(t.pool, { dataDir: t.dataDir, adminPassword: 'admin-password' });
  ({ url } = await startTestWeb(t));
  org = await orgId(t.pool);
  ({ project, inventory } = await createProjectAndInventory(t, org, { 'noop.yml': '- hosts: all\n  gather_facts: false\n  tasks: []\n' }));
  bob = await createUser(t.pool, 'bob', 'bob-pw');
  const ssh = (await t.pool.query(`SELECT id FROM credential_types WHERE kind = 'ssh' AND managed LIMIT 1`)).rows[0].id;
  machine = await insertCredential(t.pool, t.secrets, { name: 'machine', organization_id: org, credential_type_id: ssh, inputs: { username: 'nobody' } });
}, 60_000);
afterAll(async () => { await stack?.stop(); });

describe('who may run an ad hoc command', () => {
  it('read or use of the inventory is not enough: 403, nothing launched', async () => {
    await grantRole(t.pool, 'inventory', inventory, 'use_role', bob);
    const before = await commandCount();
    for (const path of ['/api/v2/ad_hoc_commands/', `/api/v2/inventories/${inventory}/ad_hoc_commands/`]) {
      const res = await api('POST', path, { inventory, module_name: 'ping' }, BOB);
      expect(res.status, `${path}: ${res.text}`).toBe(403);
    }
    expect(await commandCount()).toBe(before);
  });

  it('adhoc_role on the inventory without use of the credential: 403', async () => {
    await grantRole(t.pool, 'inventory', inventory, 'adhoc_role', bob);
    const before = await commandCount();
    const res = await api('POST', '/api/v2/ad_hoc_commands/', { inventory, credential: machine, module_name: 'ping' }, BOB);
    expect(res.status).toBe(403);
    expect(res.json.detail).toMatch(/credential/);
    expect(await commandCount()).toBe(before);
  });

  it('an inventory bob holds no role on is refused on both paths', async () => {
    const hidden = (await t.pool.query(`INSERT INTO inventories (name, organization_id) VALUES ('hidden', $1) RETURNING id`, [org])).rows[0].id;
    const before = await commandCount();
    expect((await api('POST', `/api/v2/inventories/${hidden}/ad_hoc_commands/`, { module_name: 'ping' }, BOB)).status).toBe(403);
    expect((await api('POST', '/api/v2/ad_hoc_commands/', { inventory: hidden, module_name: 'ping' }, BOB)).status).toBe(403);
    expect(await commandCount()).toBe(before);
  });
});

describe('what an ad hoc command may be', () => {
  it('refuses bad fields with a 400 naming each', async () => {
    const before = await commandCount();
    const vault = (await t.pool.query(`SELECT id FROM credential_types WHERE kind = 'vault' AND managed LIMIT 1`)).rows[0].id;
    const notMachine = await insertCredential(t.pool, t.secrets, { name: 'vault', organization_id: org, credential_type_id: vault, inputs: { vault_password: 'x' } });
    const cases: [Record<string, unknown>, string, string][] = [
      [{ module_name: 'ping' }, 'inventory', 'This field is required.'],
      [{ inventory, module_name: 'raw', module_args: 'id' }, 'module_name', '"raw" is not a valid choice.'],
      [{ inventory, module_name: 'command' }, 'module_args', 'No argument passed to command module.'],
      [{ inventory, module_name: 'ping', credential: notMachine }, 'credential', 'You must provide a machine / SSH credential.'],
      [{ inventory, module_name: 'ping', extra_vars: { ansible_connection: 'ssh' } }, 'extra_vars', 'ansible_connection are prohibited from use in ad hoc commands.'],
      [{ inventory, module_name: 'ping', forks: '1.5' }, 'forks', 'A valid integer is required.'],
      [{ inventory, module_name: 'ping', verbosity: 7 }, 'verbosity', '"7" is not a valid choice.'],
      [{ inventory, module_name: 'ping', become_enabled: 'perhaps' }, 'become_enabled', 'Must be a valid boolean.'],
      [{ inventory, module_name: 'ping', job_type: 'scan' }, 'job_type', '"scan" is not a valid choice.'],
      [{ inventory, module_name: 'ping', execution_environment: 1 }, 'execution_environment', 'Playstream does not support execution_environment on ad hoc commands.'],
    ];
    for (const [body, field, message] of cases) {
      const res = await api('POST', '/api/v2/ad_hoc_commands/', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json, JSON.stringify(body)).toEqual({ [field]: [message] });
    }
    expect(await commandCount()).toBe(before);
  });
});

describe('running ad hoc commands', () => {
  it('runs a command for real, then relaunches it; a module removed from AD_HOC_COMMANDS stops the relaunch', async () => {
    await grantRole(t.pool, 'credential', machine, 'use_role', bob);
    stack = await startJobStack(t, project);
    const res = await api('POST', `/api/v2/inventories/${inventory}/ad_hoc_commands/`, { module_name: 'command', module_args: 'echo adhoc-marker-1',
      credential: machine, verbosity: '1', forks: '2', become_enabled: 'false' }, BOB);
    expect(res.status, res.text).toBe(201);
    expect(res.json).toMatchObject({ type: 'ad_hoc_command', inventory, credential: machine, module_name: 'command', module_args: 'echo adhoc-marker-1',
      verbosity: 1, forks: 2, launch_type: 'manual' });
    const first = await waitForProcessed(t.pool, res.json.id);
    expect(first.status, first.result_traceback).toBe('successful');
    expect(await storedStdout(t.pool, first.id, first.created_iso, 'ad_hoc_command_events')).toContain('adhoc-marker-1');
    const summaries = await t.pool.query('SELECT host_name FROM job_host_summaries WHERE job_id = $1', [first.id]);
    expect(summaries.rows).toEqual([]); // AWX writes host summaries for jobs only
    // The command's page shows its host counts (AWX's AdHocCommandDetailSerializer has them; they were missing).
    expect((await api('GET', `/api/v2/ad_hoc_commands/${first.id}/`, undefined, BOB)).json.host_status_counts).toEqual({ changed: 1 });

    const again = await api('POST', `/api/v2/ad_hoc_commands/${first.id}/relaunch/`, {}, BOB);
    expect(again.status, again.text).toBe(201);
    expect(again.json).toMatchObject({ ad_hoc_command: again.json.id, launch_type: 'relaunch', module_args: 'echo adhoc-marker-1', credential: machine });
    const second = await waitForProcessed(t.pool, again.json.id);
    expect(second.status).toBe('successful');
    expect(await storedStdout(t.pool, second.id, second.created_iso, 'ad_hoc_command_events')).toContain('adhoc-marker-1');

    const listed = await api('GET', `/api/v2/inventories/${inventory}/ad_hoc_commands/`, undefined, BOB);
    expect(listed.json.results.map((r: any) => r.id)).toEqual([first.id, second.id]);

    // The allowlist is read at each start: without `command`, the relaunch is refused.
    expect((await api('PATCH', '/api/v2/settings/jobs/', { AD_HOC_COMMANDS: ['ping', 'setup'] })).status).toBe(200);
    const refused = await api('POST', `/api/v2/ad_hoc_commands/${first.id}/relaunch/`, {}, BOB);
    expect(refused.status).toBe(400);
    expect(refused.json).toEqual({ module_name: ['"command" is not a valid choice.'] });
    const ping = await api('POST', '/api/v2/ad_hoc_commands/', { inventory, module_name: 'ping' });
    expect(ping.status, ping.text).toBe(201);
    expect((await waitForProcessed(t.pool, ping.json.id)).status).toBe('successful');

    // From a host: its inventory, limited to it (AWX's HostAdHocCommandsList).
    const host = (await t.pool.query(`SELECT id FROM hosts WHERE inventory_id = $1 AND name = 'localhost'`, [inventory])).rows[0].id;
    const onHost = await api('POST', `/api/v2/hosts/${host}/ad_hoc_commands/`, { module_name: 'ping', inventory: 999999, limit: 'all' });
    expect(onHost.status, onHost.text).toBe(201);
    expect(onHost.json).toMatchObject({ inventory, limit: 'localhost', module_name: 'ping' });
    expect((await waitForProcessed(t.pool, onHost.json.id)).status).toBe('successful');
    expect((await api('GET', `/api/v2/hosts/${host}/ad_hoc_commands/`)).json.results.map((r: any) => r.id)).toEqual([onHost.json.id]);
  }, 180_000);

  it('a relaunch needs the roles again: without adhoc_role on the inventory, 403', async () => {
    const { rows: [cmd] } = await t.pool.query(`SELECT id FROM unified_jobs WHERE kind = 'ad_hoc_command' AND created_by_id = $1 ORDER BY id LIMIT 1`, [bob]);
    const before = await commandCount();
    await t.pool.query(`DELETE FROM rbac_role_users WHERE user_id = $1 AND role_id IN
      (SELECT id FROM rbac_roles WHERE resource_type = 'inventory' AND role_field = 'adhoc_role')`, [bob]);
    await webHeard();
    const res = await api('POST', `/api/v2/ad_hoc_commands/${cmd.id}/relaunch/`, {}, BOB);
    expect(res.status, res.text).toBe(403);
    expect(await commandCount()).toBe(before);
  });
});
