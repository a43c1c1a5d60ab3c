import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { launchJobTemplate } from '../../src/scheduler/launch.js';
import type { TestEnv } from '../support/harness.js';
import { type ApiCall, useSeededWeb } from '../support/web.js';
import { syncedProjectAndInventory, insertJobTemplate, orgId, pushedEvents, runInProcess } from './support.js';

/**
 * Credentials whose passwords are "ASK" (AWX's passwords_needed_to_start): the launch names
 * what it needs, refuses to start without it, and the job gets it — here a vault password
 * that decrypts a real vaulted variable. What was given is kept sealed only until the job
 * reads it. Before, "ASK" itself was handed to Ansible as the password.
 */
let t: TestEnv;
let url: string;
let templateId: number;
let api: ApiCall;

beforeAll(async () => {
  ({ t, url, api } = await useSeededWeb());
  const passFile = path.join(t.dataDir, 'vault-pass');
  fs.writeFileSync(passFile, 'open sesame\n');
  const vaulted = execFileSync('ansible-vault', ['encrypt_string', '--vault-password-file', passFile, 'the decrypted secret', '--name', 'hidden'],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const org = await orgId(t.pool);
  const { project, inventory } = await syncedProjectAndInventory(t, org, {
    'vaulted.yml': `- hosts: all\n  gather_facts: false\n  vars:\n${vaulted.split('\n').map((l) => `    ${l}`).join('\n')}\n  tasks:\n    - debug:\n        msg: "revealed: {{ hidden }}"\n`,
  });
  const cred = await api('POST', '/api/v2/credentials/', { name: 'Vault ASK', organization: org,
    credential_type: (await t.pool.query(`SELECT id FROM credential_types WHERE kind = 'vault'`)).rows[0].id, inputs: { vault_password: 'ASK' } });
  expect(cred.status, JSON.stringify(cred.json)).toBe(201);
  templateId = await insertJobTemplate(t.pool, { name: 'vaulted', organization_id: org, project_id: project, inventory_id: inventory, playbook: 'vaulted.yml' });
  await t.pool.query('INSERT INTO job_template_credentials (job_template_id, credential_id) VALUES ($1, $2)', [templateId, cred.json.id]);
});

async function output(jobId: number): Promise<string> {
  return (await pushedEvents(t, 'job_id', jobId)).map((e) => e.stdout ?? '').join('\n');
}

describe('"ASK" credential passwords', () => {
  it('names what a launch needs, refuses to start without it, and runs with it', async () => {
    expect((await api('GET', `/api/v2/job_templates/${templateId}/launch/`)).json.passwords_needed_to_start).toEqual(['vault_password']);
    const missing = await api('POST', `/api/v2/job_templates/${templateId}/launch/`, {});
    expect(missing.status).toBe(400);
    expect(missing.json.passwords_needed_to_start).toEqual(['vault_password']);
    expect((await api('POST', `/api/v2/job_templates/${templateId}/launch/`, { credential_passwords: 'open sesame' })).status).toBe(400);
    const launched = await api('POST', `/api/v2/job_templates/${templateId}/launch/`, { credential_passwords: { vault_password: 'open sesame' } });
    expect(launched.status, JSON.stringify(launched.json)).toBe(201);
    const { rows: [kept] } = await t.pool.query('SELECT credential_passwords FROM unified_jobs WHERE id = $1', [launched.json.id]);
    expect(kept.credential_passwords).toMatch(/^\$encrypted\$AESGCM\$/);
    expect(kept.credential_passwords).not.toContain('sesame');
    const job = await runInProcess(t, launched.json.id);
    const out = await output(job.id);
    expect(job.status, out).toBe('successful');
    expect(out).toContain('revealed: the decrypted secret');
    expect(out).not.toContain('open sesame');
    expect((await t.pool.query('SELECT credential_passwords FROM unified_jobs WHERE id = $1', [job.id])).rows[0].credential_passwords).toBe('');

    // A relaunch gives them again: they were not kept.
    expect((await api('GET', `/api/v2/jobs/${job.id}/relaunch/`)).json.passwords_needed_to_start).toEqual(['vault_password']);
    expect((await api('POST', `/api/v2/jobs/${job.id}/relaunch/`, {})).status).toBe(400);
    const again = await api('POST', `/api/v2/jobs/${job.id}/relaunch/`, { credential_passwords: { vault_password: 'open sesame' } });
    expect(again.status, JSON.stringify(again.json)).toBe(201);
    expect((await runInProcess(t, again.json.id)).status).toBe('successful');
  });

  it('errors a job started without them (a schedule cannot answer), naming what is missing', async () => {
    const job = await runInProcess(t, await launchJobTemplate(t.pool, templateId));
    expect(job.status).toBe('error');
    expect(job.job_explanation).toMatch(/asks for vault_password at launch and none was given/);
  });
});
