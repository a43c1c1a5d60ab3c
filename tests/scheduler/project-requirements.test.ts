import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { launchJobTemplate, launchProjectUpdate } from '../../src/scheduler/launch.js';
import { useTestEnv, type TestEnv } from '../support/harness.js';
import { createGitRepo, createProjectAndInventory, insertJobTemplate, orgId, pushedEvents, runInProcess } from './support.js';

/**
 * A project's roles/requirements.yml and collections/requirements.yml, installed by its
 * update with ansible-galaxy (offline: a role tarball and a collection built here, both in
 * the repository), once per revision, and found by its jobs. Before, the update ran git
 * only and a job using either failed: "the role 'greeter' was not found".
 */
let t: TestEnv;

beforeAll(async () => { t = await useTestEnv(); });

describe('project requirements', () => {
  it('installs required roles and collections during the update, and the job uses both', async () => {
    const build = path.join(t.dataDir, 'build');
    // A role, packed as a tarball.
    fs.mkdirSync(path.join(build, 'greeter/tasks'), { recursive: true });
    fs.mkdirSync(path.join(build, 'greeter/meta'), { recursive: true });
    fs.writeFileSync(path.join(build, 'greeter/tasks/main.yml'), '- debug:\n    msg: "hello from the greeter role"\n');
    fs.writeFileSync(path.join(build, 'greeter/meta/main.yml'), 'galaxy_info:\n  author: t\n  description: t\n  license: MIT\n  min_ansible_version: "2.9"\n  platforms: []\ndependencies: []\n');
    // A collection with a role, built by ansible-galaxy.
    const coll = path.join(build, 'coll');
    fs.mkdirSync(path.join(coll, 'roles/wave/tasks'), { recursive: true });
    fs.writeFileSync(path.join(coll, 'galaxy.yml'), 'namespace: testns\nname: testcoll\nversion: 1.0.0\nreadme: README.md\nauthors: [t]\n');
    fs.writeFileSync(path.join(coll, 'README.md'), 'test\n');
    fs.writeFileSync(path.join(coll, 'roles/wave/tasks/main.yml'), '- debug:\n    msg: "hello from testns.testcoll"\n');
    execFileSync('ansible-galaxy', ['collection', 'build', '--output-path', build, coll], { stdio: 'ignore' });

    const org = await orgId(t.pool);
    const { project, inventory } = await createProjectAndInventory(t, org, {
      'site.yml': '- hosts: all\n  gather_facts: false\n  roles:\n    - greeter\n  tasks:\n    - include_role:\n        name: testns.testcoll.wave\n',
      'roles/requirements.yml': '- src: vendor/greeter.tar.gz\n  name: greeter\n',
      'collections/requirements.yml': 'collections:\n  - name: vendor/testns-testcoll-1.0.0.tar.gz\n    type: file\n',
    });
    const repo = path.join(t.dataDir, 'repo');
    fs.mkdirSync(path.join(repo, 'vendor'), { recursive: true });
    execFileSync('tar', ['-czf', path.join(repo, 'vendor/greeter.tar.gz'), '-C', build, 'greeter']);
    fs.copyFileSync(path.join(build, 'testns-testcoll-1.0.0.tar.gz'), path.join(repo, 'vendor/testns-testcoll-1.0.0.tar.gz'));
    createGitRepo(repo, {});

    const update = await runInProcess(t, await launchProjectUpdate(t.pool, project));
    expect(update.status, update.job_explanation).toBe('successful');
    const tasks = (await pushedEvents(t, 'project_update_id', update.id)).filter((e) => e.event === 'runner_on_ok').map((e) => e.event_data.task);
    expect(tasks).toEqual(expect.arrayContaining(['Install roles from roles/requirements.yml', 'Install collections from collections/requirements.yml']));

    const template = await insertJobTemplate(t.pool, { name: 'uses requirements', organization_id: org, project_id: project, inventory_id: inventory, playbook: 'site.yml' });
    const job = await runInProcess(t, await launchJobTemplate(t.pool, template));
    const out = (await pushedEvents(t, 'job_id', job.id)).map((e) => e.stdout ?? '').join('\n');
    expect(job.status, out).toBe('successful');
    expect(out).toContain('hello from the greeter role');
    expect(out).toContain('hello from testns.testcoll');

    // The same revision again: nothing to install.
    const again = await runInProcess(t, await launchProjectUpdate(t.pool, project));
    expect(again.status).toBe('successful');
    const againTasks = (await pushedEvents(t, 'project_update_id', again.id)).map((e) => e.event_data?.task).filter(Boolean);
    expect(againTasks.some((n: string) => n.startsWith('Install'))).toBe(false);

    // PROJECT_UPDATE_VVV: a new revision's install runs ansible-galaxy -vvv and shows its whole output.
    const installOutput = async (updateId: number) => (await pushedEvents(t, 'project_update_id', updateId))
      .find((e) => e.event === 'runner_on_ok' && e.event_data.task === 'Install roles from roles/requirements.yml')?.stdout ?? '';
    expect(await installOutput(update.id)).not.toContain('ansible-galaxy [core');
    await t.pool.query(`INSERT INTO api_settings (key, value) VALUES ('PROJECT_UPDATE_VVV', 'true')`);
    createGitRepo(repo, { 'README.md': 'a new revision\n' });
    const verbose = await runInProcess(t, await launchProjectUpdate(t.pool, project));
    expect(verbose.status, verbose.job_explanation).toBe('successful');
    expect(await installOutput(verbose.id)).toContain('ansible-galaxy [core');
  });
});
