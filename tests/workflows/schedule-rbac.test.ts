import { beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, type ApiCall, useSeededWeb } from '../support/web.js';

/**
 * Schedules follow their template's roles whatever its kind (AWX's ScheduleAccess): who may
 * start a workflow job template schedules it, who reads it reads its schedules, and roles on
 * another kind of template — or on nothing — give neither (migration 1001).
 */
let api: ApiCall;
const RRULE = 'DTSTART:20300101T000000Z RRULE:FREQ=DAILY;INTERVAL=1';

beforeAll(async () => {
  ({ api } = await useSeededWeb());
});

async function userWith(name: string, grants: { path: string; role: string }[]): Promise<Record<string, string>> {
  const user = (await api('POST', '/api/v2/organizations/1/users/', { username: name, password: `${name}-pass` })).json;
  for (const g of grants) {
    const roles = (await api('GET', `${g.path}object_roles/`)).json.results;
    const role = roles.find((r: { name: string }) => r.name === g.role);
    expect((await api('POST', `/api/v2/roles/${role.id}/users/`, { id: user.id })).status).toBe(204);
  }
  return basicAuth(name, `${name}-pass`);
}

describe('schedules of a workflow job template', () => {
  it('its executor schedules it and changes what they made; a reader sees it and changes nothing; others see nothing', async () => {
    const w = (await api('POST', '/api/v2/workflow_job_templates/', { name: 'nightly wf', organization: 1 })).json;
    const path = `/api/v2/workflow_job_templates/${w.id}/`;
    const executor = await userWith('wfexec', [{ path, role: 'Execute' }]);
    const reader = await userWith('wfread', [{ path, role: 'Read' }]);
    const jt = (await api('GET', '/api/v2/job_templates/?name=Demo Job Template')).json.results[0];
    const jtRunner = await userWith('jtexec', [{ path: `/api/v2/job_templates/${jt.id}/`, role: 'Execute' }]);

    // Before migration 1001 the executor got 403: only job template and project roles counted.
    const made = await api('POST', `${path}schedules/`, { name: 'every night', rrule: RRULE }, executor);
    expect(made.status, made.text).toBe(201);
    const s = made.json;
    expect(s.summary_fields.user_capabilities).toMatchObject({ edit: true, delete: true });
    expect((await api('PATCH', `/api/v2/schedules/${s.id}/`, { description: 'mine' }, executor)).status).toBe(200);

    const seen = await api('GET', `/api/v2/schedules/${s.id}/`, undefined, reader);
    expect(seen.status).toBe(200);
    expect(seen.json.summary_fields.user_capabilities).toMatchObject({ edit: false, delete: false });
    expect((await api('GET', `${path}schedules/`, undefined, reader)).json.count).toBe(1);
    expect((await api('PATCH', `/api/v2/schedules/${s.id}/`, { enabled: false }, reader)).status).toBe(403);
    expect((await api('POST', `${path}schedules/`, { name: 'sneaky', rrule: RRULE }, reader)).status).toBe(403);

    // Execute on a job template of the same organization is not a role on the workflow.
    expect((await api('GET', `/api/v2/schedules/${s.id}/`, undefined, jtRunner)).status).toBe(403);
    expect((await api('GET', '/api/v2/schedules/', undefined, jtRunner)).json.results.map((x: { id: number }) => x.id)).not.toContain(s.id);
    expect((await api('POST', `${path}schedules/`, { name: 'other kind', rrule: RRULE }, jtRunner)).status).toBe(403);
    expect((await api('POST', '/api/v2/schedules/', { name: 'direct', rrule: RRULE, unified_job_template: w.id }, jtRunner)).status).toBe(403);
  });

  it('a job template executor still schedules the job template, and sees only its schedules', async () => {
    const jt = (await api('GET', '/api/v2/job_templates/?name=Demo Job Template')).json.results[0];
    const w = (await api('POST', '/api/v2/workflow_job_templates/', { name: 'other wf', organization: 1 })).json;
    const wfSchedule = (await api('POST', `/api/v2/workflow_job_templates/${w.id}/schedules/`, { name: 'wf only', rrule: RRULE })).json;
    const runner = await userWith('jtsched', [{ path: `/api/v2/job_templates/${jt.id}/`, role: 'Execute' }]);
    const made = await api('POST', `/api/v2/job_templates/${jt.id}/schedules/`, { name: 'jt nightly', rrule: RRULE }, runner);
    expect(made.status, made.text).toBe(201);
    const visible = (await api('GET', '/api/v2/schedules/?page_size=200', undefined, runner)).json.results.map((x: { id: number }) => x.id);
    expect(visible).toContain(made.json.id);
    expect(visible).not.toContain(wfSchedule.id);
  });
});
