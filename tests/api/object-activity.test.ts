import { beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, type ApiCall, useSeededWeb } from '../support/web.js';

/**
 * `/<resource>/N/activity_stream/`: the activity entries naming that object (created,
 * changed, associated), not those of others; readable, like the whole stream, by superusers
 * and system auditors only.
 */
let api: ApiCall;

beforeAll(async () => {
  ({ api } = await useSeededWeb());
});

describe('an object\'s activity stream', () => {
  it('lists what happened to that object only, including associations naming it second', async () => {
    const a = (await api('POST', '/api/v2/organizations/', { name: 'Activity A' })).json;
    const b = (await api('POST', '/api/v2/organizations/', { name: 'Activity B' })).json;
    await api('PATCH', `/api/v2/organizations/${a.id}/`, { description: 'changed' });
    const team = (await api('POST', '/api/v2/teams/', { name: 'Activity team', organization: a.id })).json;
    const user = (await api('POST', '/api/v2/users/', { username: 'activity-user', password: 'activity-pass-1' })).json;
    const roles = (await api('GET', `/api/v2/teams/${team.id}/object_roles/`)).json.results;
    await api('POST', `/api/v2/roles/${roles.find((r: { name: string }) => r.name === 'Member').id}/users/`, { id: user.id });

    const ofA = (await api('GET', `/api/v2/organizations/${a.id}/activity_stream/`)).json;
    expect(ofA.count).toBeGreaterThanOrEqual(2);
    for (const e of ofA.results) {
      expect(e.object1 === 'organization' && e.object1_id === a.id || e.object2 === 'organization' && e.object2_id === a.id, JSON.stringify(e)).toBe(true);
    }
    expect(ofA.results.map((e: { operation: string }) => e.operation)).toEqual(expect.arrayContaining(['create', 'update']));
    const ofB = (await api('GET', `/api/v2/organizations/${b.id}/activity_stream/`)).json;
    expect(ofB.results.every((e: { object1_id: number; object2_id: number }) => e.object1_id === b.id || e.object2_id === b.id)).toBe(true);
    expect(ofB.results.some((e: { operation: string }) => e.operation === 'update')).toBe(false);
    const ofUser = (await api('GET', `/api/v2/users/${user.id}/activity_stream/`)).json;
    // The team membership is recorded as (role, user): the user's stream finds it by object2.
    expect(ofUser.results).toEqual(expect.arrayContaining([
      expect.objectContaining({ operation: 'create', object1: 'user', object1_id: user.id }),
      expect.objectContaining({ operation: 'associate', object2: 'user', object2_id: user.id }),
    ]));
  });

  it('covers workflow job templates, and each job kind has its notifications list', async () => {
    const wf = (await api('POST', '/api/v2/workflow_job_templates/', { name: 'activity wf', organization: 1 })).json;
    const stream = (await api('GET', `/api/v2/workflow_job_templates/${wf.id}/activity_stream/`)).json;
    expect(stream.results).toEqual([expect.objectContaining({ operation: 'create', object1: 'workflow_job_template', object1_id: wf.id })]);
    const jt = (await api('GET', '/api/v2/job_templates/?name=Demo Job Template')).json.results[0];
    const update = (await api('POST', `/api/v2/projects/${jt.project}/update/`, {})).json;
    const res = await api('GET', `/api/v2/project_updates/${update.id ?? update.project_update}/notifications/`);
    expect(res.status, res.text).toBe(200);
    expect(res.json.count).toBe(0);
  });

  it('shows a non-superuser nothing of it, even of an object they administer', async () => {
    const org = (await api('POST', '/api/v2/organizations/', { name: 'Activity C' })).json;
    const admin = (await api('POST', `/api/v2/organizations/${org.id}/users/`, { username: 'activity-admin', password: 'activity-pass-2' })).json;
    const roles = (await api('GET', `/api/v2/organizations/${org.id}/object_roles/`)).json.results;
    await api('POST', `/api/v2/roles/${roles.find((r: { name: string }) => r.name === 'Admin').id}/users/`, { id: admin.id });
    const as = basicAuth('activity-admin', 'activity-pass-2');
    const res = await api('GET', `/api/v2/organizations/${org.id}/activity_stream/`, undefined, as);
    expect(res.status).toBe(200);
    expect(res.json.count).toBe(0);
    expect((await api('GET', `/api/v2/organizations/${org.id}/activity_stream/`)).json.count).toBeGreaterThan(0);
  });
});
