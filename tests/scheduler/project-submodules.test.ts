import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { launchProjectUpdate } from '../../src/scheduler/launch.js';
import { projectDir } from '../../src/scheduler/private-data-dir.js';
import { useTestEnv, type TestEnv } from '../support/harness.js';
import { createGitRepo, orgId, runInProcess } from './support.js';

/**
 * A project whose repository has a submodule: the update checks it out recursively at the
 * commit the project records, or, with scm_track_submodules, at its branch's latest commit.
 * Before, the submodule's directory stayed empty and its playbooks were missing.
 */
let t: TestEnv;

beforeAll(async () => { t = await useTestEnv(); });

const git = (cwd: string, ...args: string[]) => execFileSync('git', ['-c', 'protocol.file.allow=always', ...args], { cwd, stdio: 'ignore',
  env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@localhost', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@localhost' } });

describe('project submodules', () => {
  it('checks submodules out recursively, pinned or tracking their branch', async () => {
    // The submodule's repository lives inside the project's (untracked), where the update's sandbox can read it.
    const repo = path.join(t.dataDir, 'repo');
    const sub = path.join(repo, '.modules', 'shared');
    createGitRepo(sub, { 'shared.yml': '- hosts: all\n  tasks: []\n' });
    createGitRepo(repo, { 'site.yml': '- hosts: all\n  tasks: []\n', '.gitignore': '.modules/\n' });
    git(repo, 'submodule', 'add', '-b', 'main', `file://${sub}`, 'shared');
    git(repo, 'commit', '-q', '-m', 'submodule');
    createGitRepo(sub, { 'later.yml': '- hosts: all\n  tasks: []\n' }); // a commit the project does not record

    const org = await orgId(t.pool);
    const project = async (track: boolean) => (await t.pool.query(`INSERT INTO projects (name, organization_id, scm_type, scm_url, local_path, scm_track_submodules)
      VALUES ($1, $2, 'git', $3, $1, $4) RETURNING id, name, local_path`, [`sub-${track}`, org, `file://${repo}`, track])).rows[0];
    for (const track of [false, true]) {
      const p = await project(track);
      const update = await runInProcess(t, await launchProjectUpdate(t.pool, p.id));
      expect(update.status, update.job_explanation).toBe('successful');
      const checkout = projectDir(t.config.dataDir, p);
      expect(fs.existsSync(path.join(checkout, 'shared', 'shared.yml'))).toBe(true);
      expect(fs.existsSync(path.join(checkout, 'shared', 'later.yml'))).toBe(track);
      const { rows: [row] } = await t.pool.query('SELECT playbook_files FROM projects WHERE id = $1', [p.id]);
      expect(row.playbook_files).toContain('shared/shared.yml');
    }
  });
});
