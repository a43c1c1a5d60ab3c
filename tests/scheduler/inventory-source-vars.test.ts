import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { launchInventoryUpdate, launchProjectUpdate } from '../../src/scheduler/launch.js';
import { SANDBOX_PATH } from '../../src/scheduler/sandbox/env.js';
import { useTestEnv, type TestEnv } from '../support/harness.js';
import { createGitRepo, orgId, runInProcess } from './support.js';

let t: TestEnv;

beforeAll(async () => { t = await useTestEnv(); });

describe('inventory update from a project inventory script', () => {
  it('passes source_vars to the script as environment variables, and refuses a blocked one', async () => {
    const repo = path.join(t.dataDir, 'repo');
    // The script names its one host after REGION and records PATH as a host var: a blocked
    // source var (PATH) refuses the update, and the script sees the sandbox's own PATH.
    createGitRepo(repo, { 'inventory/dyn.sh': `#!/bin/sh
if [ "$1" = "--host" ]; then echo '{}'; exit 0; fi
printf '{"edge": {"hosts": ["web-%s"], "vars": {"tier": "%s"}}, "_meta": {"hostvars": {"web-%s": {"seen_path": "%s"}}}}' "$REGION" "$TIER" "$REGION" "$PATH"
` });
    fs.chmodSync(path.join(repo, 'inventory/dyn.sh'), 0o755);
    createGitRepo(repo, {});
    const org = await orgId(t.pool);
    const project = (await t.pool.query(`INSERT INTO projects (name, organization_id, scm_type, scm_url, local_path)
      VALUES ('P', $1, 'git', $2, 'p') RETURNING id`, [org, `file://${repo}`])).rows[0].id;
    expect((await runInProcess(t, await launchProjectUpdate(t.pool, project))).status).toBe('successful');
    const inv = (await t.pool.query(`INSERT INTO inventories (name, organization_id) VALUES ('I', $1) RETURNING id`, [org])).rows[0].id;
    const source = async (vars: string) => (await t.pool.query(`INSERT INTO inventory_sources (name, inventory_id, source, source_path,
      source_project_id, source_vars) VALUES ('dyn' || gen_random_uuid(), $1, 'scm', 'inventory/dyn.sh', $2, $3) RETURNING id`, [inv, project, vars])).rows[0].id;

    const refused = await runInProcess(t, await launchInventoryUpdate(t.pool, await source('REGION: eu1\nPATH: /nowhere')));
    expect(refused.status).toBe('error');
    expect(refused.job_explanation).toBe('source_vars refused: `PATH` is a prohibited environment variable');
    expect((await t.pool.query('SELECT count(*)::int AS n FROM hosts WHERE inventory_id = $1', [inv])).rows[0].n).toBe(0);

    const update = await runInProcess(t, await launchInventoryUpdate(t.pool, await source('REGION: eu1\nTIER: 2')));
    expect(update.status, update.job_explanation).toBe('successful');
    const { rows: hosts } = await t.pool.query('SELECT name, variables FROM hosts WHERE inventory_id = $1', [inv]);
    expect(hosts.map((h) => h.name)).toEqual(['web-eu1']);
    expect(JSON.parse(hosts[0].variables).seen_path).toBe(SANDBOX_PATH);
    const { rows: [group] } = await t.pool.query('SELECT name, variables FROM groups WHERE inventory_id = $1', [inv]);
    expect(group.name).toBe('edge');
    expect(JSON.parse(group.variables)).toEqual({ tier: '2' });
  });
});
