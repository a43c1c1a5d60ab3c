import { beforeAll, describe, expect, it } from 'vitest';
import { runDueSchedules } from '../../src/scheduler/schedules.js';
import type { TestEnv } from '../support/harness.js';
import { basicAuth, type ApiCall, useSeededWeb } from '../support/web.js';

/**
 * A workflow job template's survey (survey_spec, survey_enabled, answers checked at launch
 * as a job template's), labels, and copy (nodes, edges, node credentials, labels; what the
 * copier may not use left out, as AWX's deep copy does).
 */
let env: TestEnv;
let api: ApiCall;
let jt: any;

beforeAll(async () => {
  ({ t: env, api } = await useSeededWeb());
  jt = (await api('GET', '/api/v2/job_templates/?name=Demo Job Template')).json.results[0];
});

const SPEC = {
  name: 'Deploy', description: '', spec: [
    { question_name: 'Environment', variable: 'env', type: 'multiplechoice', choices: ['staging', 'production'], required: true },
    { question_name: 'Replicas', variable: 'replicas', type: 'integer', min: 1, max: 5, required: false, default: 2 },
  ],
};

describe('workflow job template survey', () => {
  it('stores a survey, checks launch answers against it, fills defaults, and ignores vars it does not ask for', async () => {
    const w = (await api('POST', '/api/v2/workflow_job_templates/', { name: 'surveyed', organization: 1, survey_enabled: true })).json;
    expect(w.survey_enabled).toBe(true);
    expect(w.related.survey_spec).toBe(`/api/v2/workflow_job_templates/${w.id}/survey_spec/`);
    expect((await api('POST', `/api/v2/workflow_job_templates/${w.id}/survey_spec/`, SPEC)).status).toBe(200);
    expect((await api('GET', `/api/v2/workflow_job_templates/${w.id}/survey_spec/`)).json).toEqual(SPEC);
    const info = (await api('GET', `/api/v2/workflow_job_templates/${w.id}/launch/`)).json;
    expect(info).toMatchObject({ survey_enabled: true, variables_needed_to_start: ['env'], can_start_without_user_input: false });

    const missing = await api('POST', `/api/v2/workflow_job_templates/${w.id}/launch/`, {});
    expect(missing.status).toBe(400);
    expect(missing.json.variables_needed_to_start).toEqual(["'env' value missing"]);
    const wrong = await api('POST', `/api/v2/workflow_job_templates/${w.id}/launch/`, { extra_vars: { env: 'qa' } });
    expect(wrong.status).toBe(400);
    expect(wrong.json.variables_needed_to_start[0]).toMatch(/expected to be one of/);
    const tooMany = await api('POST', `/api/v2/workflow_job_templates/${w.id}/launch/`, { extra_vars: { env: 'staging', replicas: 9 } });
    expect(tooMany.status).toBe(400);
    expect((await env.pool.query(`SELECT count(*)::int AS n FROM unified_jobs WHERE kind = 'workflow_job' AND unified_job_template_id = $1`, [w.id])).rows[0].n).toBe(0);

    const ok = await api('POST', `/api/v2/workflow_job_templates/${w.id}/launch/`, { extra_vars: { env: 'production', other: 1 } });
    expect(ok.status, ok.text).toBe(201);
    expect(ok.json.ignored_fields).toEqual({ extra_vars: { other: 1 } });
    expect(JSON.parse(ok.json.extra_vars)).toEqual({ env: 'production', replicas: 2 });
  });

  it('refuses password questions on a workflow survey, naming the question, and stores nothing; only admins write the survey', async () => {
    const w = (await api('POST', '/api/v2/workflow_job_templates/', { name: 'pw survey', organization: 1 })).json;
    const res = await api('POST', `/api/v2/workflow_job_templates/${w.id}/survey_spec/`, { name: '', description: '',
      spec: [{ question_name: 'Secret', variable: 'token', type: 'password', required: true }] });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatch(/\(token\) of type 'password'/);
    expect((await api('GET', `/api/v2/workflow_job_templates/${w.id}/survey_spec/`)).json).toEqual({});

    const user = (await api('POST', '/api/v2/organizations/1/users/', { username: 'runner', password: 'runner-pass' })).json;
    const roles = (await api('GET', `/api/v2/workflow_job_templates/${w.id}/object_roles/`)).json.results;
    await api('POST', `/api/v2/roles/${roles.find((r: any) => r.name === 'Execute').id}/users/`, { id: user.id });
    const as = basicAuth('runner', 'runner-pass');
    expect((await api('GET', `/api/v2/workflow_job_templates/${w.id}/survey_spec/`, undefined, as)).status).toBe(200);
    expect((await api('POST', `/api/v2/workflow_job_templates/${w.id}/survey_spec/`, SPEC, as)).status).toBe(403);
    expect((await api('DELETE', `/api/v2/workflow_job_templates/${w.id}/survey_spec/`, undefined, as)).status).toBe(403);
  });

  it('refuses ask_labels_on_launch, which it does not implement, naming it', async () => {
    const res = await api('POST', '/api/v2/workflow_job_templates/', { name: 'label prompt', organization: 1, ask_labels_on_launch: true });
    expect(res.status).toBe(400);
    expect(res.json.ask_labels_on_launch).toBeDefined();
  });
});

describe('workflow job template labels and copy', () => {
  it('lists, associates and disassociates labels, shown in summary_fields', async () => {
    const w = (await api('POST', '/api/v2/workflow_job_templates/', { name: 'labelled', organization: 1 })).json;
    const label = (await api('POST', '/api/v2/labels/', { name: 'nightly', organization: 1 })).json;
    expect((await api('POST', `/api/v2/workflow_job_templates/${w.id}/labels/`, { id: label.id })).status).toBe(204);
    expect((await api('GET', `/api/v2/workflow_job_templates/${w.id}/labels/`)).json.results.map((l: any) => l.name)).toEqual(['nightly']);
    expect((await api('GET', `/api/v2/workflow_job_templates/${w.id}/`)).json.summary_fields.labels).toEqual({ count: 1,
      results: [{ id: label.id, name: 'nightly' }] });
    expect((await api('POST', `/api/v2/workflow_job_templates/${w.id}/labels/`, { id: label.id, disassociate: true })).status).toBe(204);
    expect((await api('GET', `/api/v2/workflow_job_templates/${w.id}/labels/`)).json.count).toBe(0);
  });

  it('copies nodes, edges, prompts, credentials, an approval (its own template), labels and survey; never run', async () => {
    await api('PATCH', `/api/v2/job_templates/${jt.id}/`, { ask_limit_on_launch: true, ask_credential_on_launch: true });
    const w = (await api('POST', '/api/v2/workflow_job_templates/', { name: 'original', organization: 1, survey_enabled: true })).json;
    await api('POST', `/api/v2/workflow_job_templates/${w.id}/survey_spec/`, SPEC);
    const label = (await api('POST', '/api/v2/labels/', { name: 'copied-label', organization: 1 })).json;
    await api('POST', `/api/v2/workflow_job_templates/${w.id}/labels/`, { id: label.id });
    const a = (await api('POST', `/api/v2/workflow_job_templates/${w.id}/workflow_nodes/`, { unified_job_template: jt.id, identifier: 'a', limit: 'web' })).json;
    const cred = (await api('GET', '/api/v2/credentials/?name=Demo Credential')).json.results[0];
    expect((await api('POST', `/api/v2/workflow_job_template_nodes/${a.id}/credentials/`, { id: cred.id })).status).toBe(204);
    const gate = (await api('POST', `/api/v2/workflow_job_template_nodes/${a.id}/success_nodes/`, { identifier: 'gate', all_parents_must_converge: true })).json;
    const approval = (await api('POST', `/api/v2/workflow_job_template_nodes/${gate.id}/create_approval_template/`, { name: 'ok?', timeout: 30 })).json;
    const b = (await api('POST', `/api/v2/workflow_job_template_nodes/${gate.id}/failure_nodes/`, { unified_job_template: jt.id, identifier: 'b' })).json;
    await api('POST', `/api/v2/workflow_job_template_nodes/${a.id}/always_nodes/`, { id: b.id });
    const wj = (await api('POST', `/api/v2/workflow_job_templates/${w.id}/launch/`, { extra_vars: { env: 'staging' } })).json.id;
    expect(wj).toBeGreaterThan(0);

    const res = await api('POST', `/api/v2/workflow_job_templates/${w.id}/copy/`, { name: 'the copy' });
    expect(res.status, res.text).toBe(201);
    const c = res.json;
    expect(c).toMatchObject({ name: 'the copy', organization: 1, survey_enabled: true, status: 'never updated', last_job: null });
    expect((await api('GET', `/api/v2/workflow_job_templates/${c.id}/survey_spec/`)).json).toEqual(SPEC);
    expect(c.summary_fields.labels.results.map((l: any) => l.name)).toEqual(['copied-label']);
    const nodes = Object.fromEntries((await api('GET', `/api/v2/workflow_job_templates/${c.id}/workflow_nodes/`)).json.results
      .map((n: any) => [n.identifier, n]));
    expect(Object.keys(nodes).sort()).toEqual(['a', 'b', 'gate']);
    expect(nodes.a).toMatchObject({ unified_job_template: jt.id, limit: 'web', success_nodes: [nodes.gate.id], always_nodes: [nodes.b.id] });
    expect(nodes.gate).toMatchObject({ all_parents_must_converge: true, failure_nodes: [nodes.b.id] });
    expect(nodes.a.id).not.toBe(a.id);
    expect((await api('GET', `/api/v2/workflow_job_template_nodes/${nodes.a.id}/credentials/`)).json.results.map((x: any) => x.id)).toEqual([cred.id]);
    // The approval node has an approval template of its own, like the original's.
    expect(nodes.gate.unified_job_template).not.toBe(approval.id);
    expect((await api('GET', `/api/v2/workflow_approval_templates/${nodes.gate.unified_job_template}/`)).json).toMatchObject({ name: 'ok?', timeout: 30 });
    // The original is untouched.
    const orig = (await api('GET', `/api/v2/workflow_job_templates/${w.id}/workflow_nodes/`)).json.results;
    expect(orig.map((n: any) => n.id).sort()).toEqual([a.id, gate.id, b.id].sort());
  });

  it('leaves out of a copy the node templates and credentials the copier may not use; refuses a copy to a non-admin', async () => {
    const w = (await api('POST', '/api/v2/workflow_job_templates/', { name: 'guarded', organization: 1 })).json;
    const n = (await api('POST', `/api/v2/workflow_job_templates/${w.id}/workflow_nodes/`, { unified_job_template: jt.id, identifier: 'x' })).json;
    const cred = (await api('GET', '/api/v2/credentials/?name=Demo Credential')).json.results[0];
    await api('POST', `/api/v2/workflow_job_template_nodes/${n.id}/credentials/`, { id: cred.id });
    const user = (await api('POST', '/api/v2/organizations/1/users/', { username: 'wfcopier', password: 'wfcopier-pass' })).json;
    const as = basicAuth('wfcopier', 'wfcopier-pass');
    // Read only: no copy.
    const roles = (await api('GET', `/api/v2/workflow_job_templates/${w.id}/object_roles/`)).json.results;
    await api('POST', `/api/v2/roles/${roles.find((r: any) => r.name === 'Read').id}/users/`, { id: user.id });
    expect((await api('POST', `/api/v2/workflow_job_templates/${w.id}/copy/`, { name: 'stolen' }, as)).status).toBe(403);
    // Workflow admin of the organization, but no right to start the job template nor use the credential.
    const orgRoles = (await api('GET', '/api/v2/organizations/1/')).json.summary_fields.object_roles;
    expect((await api('POST', `/api/v2/roles/${orgRoles.workflow_admin_role.id}/users/`, { id: user.id })).status).toBe(204);
    const res = await api('POST', `/api/v2/workflow_job_templates/${w.id}/copy/`, { name: 'guarded copy' }, as);
    expect(res.status, res.text).toBe(201);
    const [node] = (await api('GET', `/api/v2/workflow_job_templates/${res.json.id}/workflow_nodes/`)).json.results;
    expect(node).toMatchObject({ identifier: 'x', unified_job_template: null });
    expect((await api('GET', `/api/v2/workflow_job_template_nodes/${node.id}/credentials/`)).json.count).toBe(0);
  });
});

describe('workflow job template schedules', () => {
  it('saves the prompts the template asks for, refuses the others naming them, and launches with them when due', async () => {
    const w = (await api('POST', '/api/v2/workflow_job_templates/', { name: 'scheduled', organization: 1, ask_limit_on_launch: true,
      survey_enabled: true })).json;
    await api('POST', `/api/v2/workflow_job_templates/${w.id}/survey_spec/`, SPEC);
    const list = `/api/v2/workflow_job_templates/${w.id}/schedules/`;
    const rrule = 'DTSTART:20250101T000000Z RRULE:FREQ=MINUTELY;INTERVAL=1';
    for (const [body, field] of [
      [{ job_tags: 'x' }, 'job_tags'], [{ verbosity: 2 }, 'verbosity'], [{ extra_data: { env: 'qa' } }, 'variables_needed_to_start'],
      [{ extra_data: { env: 'staging', free: 1 } }, 'extra_data'],
    ] as const) {
      const res = await api('POST', list, { name: `bad ${field}`, rrule, extra_data: { env: 'staging' }, ...body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(Object.keys(res.json)).toContain(field);
    }
    const s = await api('POST', list, { name: 'every minute', rrule, limit: 'web', extra_data: { env: 'staging' } });
    expect(s.status, s.text).toBe(201);
    expect(s.json).toMatchObject({ unified_job_template: w.id, limit: 'web' });
    // Due now (its next occurrence is up to a minute away).
    await env.pool.query(`UPDATE schedules SET next_run = now() - interval '1 second' WHERE id = $1`, [s.json.id]);
    const launched = await runDueSchedules(env.pool, undefined, env.config, new Date());
    expect(launched).toHaveLength(1);
    const wj = (await api('GET', `/api/v2/workflow_jobs/${launched[0]}/`)).json;
    expect(wj).toMatchObject({ type: 'workflow_job', workflow_job_template: w.id, launch_type: 'scheduled', limit: 'web' });
    expect(JSON.parse(wj.extra_vars)).toEqual({ env: 'staging' });
    await api('DELETE', `/api/v2/schedules/${s.json.id}/`);
  });
});
