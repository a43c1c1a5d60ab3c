import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { launchProjectUpdate } from '../../src/scheduler/launch.js';
import type { TestEnv } from '../support/harness.js';
import { type ApiCall, useSeededWeb } from '../support/web.js';
import { createGitRepo, createProjectAndInventory, orgId, pushedEvents, runInProcess } from './support.js';
import { execFileSync } from 'node:child_process';

/**
 * A template's or a launch's scm_branch (projects with allow_override): the job runs the
 * playbook of that branch, from a checkout of its own, while the project stays on its
 * branch; without allow_override the branch is refused. Before, the job's scm_branch was
 * stored and the project's branch ran.
 */
let t: TestEnv;
let url: string;
let project: number;
let inventory: number;
let org: number;
let api: ApiCall;

beforeAll(async () => {
  ({ t, url, api } = await useSeededWeb());
  org = await orgId(t.pool);
  const play = (msg: string) => `- hosts: all\n  gather_facts: false\n  tasks:\n    - debug:\n        msg: "${msg}"\n`;
  ({ project, inventory } = await createProjectAndInventory(t, org, { 'site.yml': play('running main') }));
  const repo = path.join(t.dataDir, 'repo');
  execFileSync('git', ['checkout', '-q', '-b', 'feature'], { cwd: repo });
  createGitRepo(repo, { 'site.yml': play('running feature') });
  execFileSync('git', ['checkout', '-q', 'main'], { cwd: repo });
  await t.pool.query(`UPDATE projects SET scm_branch = 'main' WHERE id = $1`, [project]);
  expect((await runInProcess(t, await launchProjectUpdate(t.pool, project))).status).toBe('successful');
});

async function ran(jobId: number): Promise<string> {
  const job = await runInProcess(t, jobId);
  const out = (await pushedEvents(t, 'job_id', jobId)).map((e) => e.stdout ?? '').join('\n');
  expect(job.status, out + job.job_explanation).toBe('successful');
  return out;
}

describe('branch override', () => {
  it('refuses a branch while the project does not allow overriding it', async () => {
    const res = await api('POST', '/api/v2/job_templates/', { name: 'on feature', project, inventory, playbook: 'site.yml', scm_branch: 'feature' });
    expect(res.status).toBe(400);
    expect(res.json.scm_branch).toEqual(['Project does not allow overriding branch.']);
    const ask = await api('POST', '/api/v2/job_templates/', { name: 'asks', project, inventory, playbook: 'site.yml', ask_scm_branch_on_launch: true });
    expect(ask.json.ask_scm_branch_on_launch).toEqual(['Project does not allow overriding branch.']);
  });

  it('runs the template\'s branch, and a launch\'s, from a checkout of its own', async () => {
    expect((await api('PATCH', `/api/v2/projects/${project}/`, { allow_override: true })).status).toBe(200);
    const jt = await api('POST', '/api/v2/job_templates/', { name: 'on feature', project, inventory, playbook: 'site.yml', scm_branch: 'feature', ask_scm_branch_on_launch: true });
    expect(jt.status, JSON.stringify(jt.json)).toBe(201);
    const launched = await api('POST', `/api/v2/job_templates/${jt.json.id}/launch/`, {});
    expect(await ran(launched.json.id)).toContain('running feature');
    const onMain = await api('POST', `/api/v2/job_templates/${jt.json.id}/launch/`, { scm_branch: 'main' });
    expect(await ran(onMain.json.id)).toContain('running main');
    const missing = await api('POST', `/api/v2/job_templates/${jt.json.id}/launch/`, { scm_branch: 'no-such-branch' });
    const job = await runInProcess(t, missing.json.id);
    expect(job.status).toBe('error');
    expect(job.job_explanation).toContain('is not in the project\'s last update');
  });

  it('refuses a branch that git would read as an option, before git runs', async () => {
    const jt = (await api('GET', '/api/v2/job_templates/?name=on%20feature')).json.results[0];
    const marker = path.join(t.dataDir, 'pwned');
    const hostile = await api('POST', `/api/v2/job_templates/${jt.id}/launch/`, { scm_branch: `--upload-pack=touch ${marker}` });
    const job = await runInProcess(t, hostile.json.id);
    expect(job.status).toBe('error');
    expect(job.job_explanation).toMatch(/^scm_branch "--upload-pack=touch .*" is refused: it starts with "-"/);
    expect(fs.existsSync(marker)).toBe(false);
  });
});
