import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { hashPassword } from '../security/passwords.js';
import { binaries, findBinary } from '../services/system-packages.js';
import { withTransaction } from './pool.js';

/**
 * First start: the `admin` superuser, the `Default` organization and AWX's demo set (Demo
 * Project from a local git repository with hello_world.yml, Demo Inventory with localhost,
 * Demo Credential, Demo Job Template), plus the `default` and `controlplane` instance
 * groups. Runs under an advisory lock and only while no user exists, so concurrent
 * starters seed once. Returns the admin password when it generated one (print it once).
 */
const SEED_LOCK = 7_201_002;

export interface SeedResult { created: boolean; generatedPassword?: string }

export const HELLO_WORLD = `- name: Hello World Sample
  hosts: all
  gather_facts: false
  tasks:
    - name: Hello Message
      ansible.builtin.debug:
        msg: "Hello World!"
`;

export async function seedFirstStart(pool: pg.Pool, options: { dataDir: string; adminPassword?: string }): Promise<SeedResult> {
  const repo = createDemoRepository(options.dataDir);
  return withTransaction(pool, async (db) => {
    await db.query('SELECT pg_advisory_xact_lock($1)', [SEED_LOCK]);
    const { rowCount } = await db.query('SELECT 1 FROM users LIMIT 1');
    if (rowCount) return { created: false };

    const generatedPassword = options.adminPassword ? undefined : crypto.randomBytes(12).toString('base64url');
    const password = options.adminPassword ?? generatedPassword!;
    await db.query(`INSERT INTO users (username, email, password, is_superuser) VALUES ('admin', 'admin@localhost', $1, true)`,
      [await hashPassword(password)]);
    const org = (await db.query<{ id: number }>(`INSERT INTO organizations (name) VALUES ('Default') RETURNING id`)).rows[0].id;
    await db.query(`INSERT INTO instance_groups (name, policy_instance_percentage) VALUES ('controlplane', 100), ('default', 100)`);
    await db.query(`INSERT INTO organization_instance_groups (organization_id, instance_group_id)
                    SELECT $1, id FROM instance_groups WHERE name = 'default'`, [org]);

    const project = (await db.query<{ id: number }>(
      `INSERT INTO projects (name, description, organization_id, scm_type, scm_url, scm_branch, scm_update_on_launch, local_path)
       VALUES ('Demo Project', 'A local git repository with hello_world.yml', $1, 'git', $2, '', true, '_demo_project')
       RETURNING id`, [org, `file://${repo}`])).rows[0].id;
    const inventory = (await db.query<{ id: number }>(
      `INSERT INTO inventories (name, organization_id) VALUES ('Demo Inventory', $1) RETURNING id`, [org])).rows[0].id;
    await db.query(`INSERT INTO hosts (name, inventory_id, variables)
                    VALUES ('localhost', $1, $2)`, [inventory, 'ansible_connection: local\nansible_python_interpreter: "{{ ansible_playbook_python }}"\n']);
    const credential = (await db.query<{ id: number }>(
      `INSERT INTO credentials (name, organization_id, credential_type_id, inputs)
       SELECT 'Demo Credential', $1, id, '{"username": "admin"}' FROM credential_types WHERE name = 'Machine' AND managed
       RETURNING id`, [org])).rows[0].id;
    const jt = (await db.query<{ id: number }>(
      `INSERT INTO job_templates (name, organization_id, inventory_id, project_id, playbook)
       VALUES ('Demo Job Template', $1, $2, $3, 'hello_world.yml') RETURNING id`, [org, inventory, project])).rows[0].id;
    await db.query('INSERT INTO job_template_credentials (job_template_id, credential_id) VALUES ($1, $2)', [jt, credential]);
    return { created: true, generatedPassword };
  });
}

/**
 * A git repository with hello_world.yml at <dataDir>/demo-project (made once, reused). Called
 * on every start: on a node without git (not root, auto-install off) the playbook is written
 * and start-up goes on (the node runs no job without git anyway: capacity 0, its error
 * names the package); the first start with git makes it a repository.
 */
export function createDemoRepository(dataDir: string): string {
  const repo = path.join(dataDir, 'demo-project');
  if (fs.existsSync(path.join(repo, '.git'))) return repo;
  fs.mkdirSync(repo, { recursive: true });
  fs.writeFileSync(path.join(repo, 'hello_world.yml'), HELLO_WORLD);
  if (!findBinary(binaries.git)) return repo;
  const git = (...args: string[]) => execFileSync('git', args, {
    cwd: repo, stdio: 'ignore',
    env: { ...process.env, GIT_AUTHOR_NAME: 'Playstream', GIT_AUTHOR_EMAIL: 'playstream@localhost',
      GIT_COMMITTER_NAME: 'Playstream', GIT_COMMITTER_EMAIL: 'playstream@localhost' },
  });
  git('init', '-q', '-b', 'main');
  git('add', 'hello_world.yml');
  git('commit', '-q', '-m', 'Demo playbook');
  return repo;
}
