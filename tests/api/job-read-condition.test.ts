import { beforeAll, describe, expect, it } from 'vitest';
import type { TestEnv } from '../support/harness.js';
import { basicAuth, grantRole, useSeededWeb, type ApiCall } from '../support/web.js';

/**
 * The read condition on unified jobs (access.ts unifiedJobRead) by each of its arms alone: a
 * user holding one kind of grant sees exactly the jobs that grant reaches, in the list, its
 * count and a job's detail, and only those jobs' host summaries (/job_host_summaries/ reads
 * through the same condition). The condition leaves out the arms a caller holds nothing for, so
 * each arm is written, numbered and bound only for some callers: a user per arm checks that
 * each one reads its own parameter, and that no caller reads another organization's jobs.
 */
let t: TestEnv;
let api: ApiCall;
const PASSWORD = 'read-arms-pw-1';
const TEMPLATE = 990_001;
const jobs: Record<string, number> = {};
const users: Record<string, { id: number; auth: Record<string, string> }> = {};

async function user(name: string): Promise<{ id: number; auth: Record<string, string> }> {
  const res = await api('POST', '/api/v2/users/', { username: name, password: PASSWORD });
  expect(res.status, res.text).toBe(201);
  return { id: res.json.id, auth: basicAuth(name, PASSWORD) };
}

beforeAll(async () => {
  ({ t, api } = await useSeededWeb());
  const orgA = (await api('POST', '/api/v2/organizations/', { name: 'Arms A' })).json.id;
  const orgB = (await api('POST', '/api/v2/organizations/', { name: 'Arms B' })).json.id;
  const invA = (await api('POST', '/api/v2/inventories/', { name: 'Arms inventory A', organization: orgA })).json.id;
  const invB = (await api('POST', '/api/v2/inventories/', { name: 'Arms inventory B', organization: orgB })).json.id;
  for (const name of ['template', 'orgJobTemplates', 'orgAdmin', 'inventory', 'orgInventories', 'launcher', 'nobody']) users[name] = await user(`arms-${name}`);
  const insert = async (name: string, kind: string, cols: Record<string, number | null>) => {
    const keys = Object.keys(cols);
    const { rows: [r] } = await t.pool.query(
      `INSERT INTO unified_jobs (kind, name, status, ${keys.join(', ')}) VALUES ($1, $2, 'successful', ${keys.map((_, i) => `$${i + 3}`).join(', ')}) RETURNING id`,
      [kind, name, ...keys.map((k) => cols[k])]);
    jobs[name] = Number(r.id);
    await t.pool.query(`INSERT INTO job_host_summaries (job_id, host_name, ok) VALUES ($1, $2, 1)`, [r.id, `host-of-${name}`]);
  };
  await insert('byTemplate', 'job', { unified_job_template_id: TEMPLATE, organization_id: orgB });
  await insert('inOrgA', 'job', { organization_id: orgA, inventory_id: null });
  await insert('onInventoryA', 'job', { inventory_id: invA });
  await insert('onInventoryB', 'job', { organization_id: orgB, inventory_id: invB });
  await insert('bulkInOrgA', 'workflow_job', { organization_id: orgA, unified_job_template_id: null, inventory_id: invA });
  await insert('launched', 'job', { organization_id: orgB, created_by_id: users.launcher.id });
  await insert('elsewhere', 'job', { organization_id: orgB, unified_job_template_id: TEMPLATE + 1 });
  await grantRole(t.pool, 'job_template', TEMPLATE, 'read_role', users.template.id);
  await grantRole(t.pool, 'organization', orgA, 'job_template_admin_role', users.orgJobTemplates.id);
  await grantRole(t.pool, 'organization', orgA, 'admin_role', users.orgAdmin.id);
  await grantRole(t.pool, 'inventory', invA, 'read_role', users.inventory.id);
  await grantRole(t.pool, 'organization', orgB, 'inventory_admin_role', users.orgInventories.id);
});

const SEES: Record<string, string[]> = {
  template: ['byTemplate'],
  // An organization's template role reads its jobs, not a bulk job of it (AWX's WorkflowJobAccess).
  orgJobTemplates: ['inOrgA'],
  // Its admin reads those and its bulk jobs, and the jobs on its inventories.
  orgAdmin: ['inOrgA', 'onInventoryA', 'bulkInOrgA'],
  inventory: ['onInventoryA'],
  orgInventories: ['onInventoryB'],
  launcher: ['launched'],
  nobody: [],
};

describe('the unified job read condition, arm by arm', () => {
  for (const [name, want] of Object.entries(SEES)) {
    it(`a user holding ${name === 'nobody' ? 'nothing' : `only the ${name} grant`} sees exactly ${want.join(', ') || 'no job'}`, async () => {
      const ids = want.map((j) => jobs[j]).sort((a, b) => a - b);
      const mine = new Set(Object.values(jobs));
      const list = await api('GET', '/api/v2/unified_jobs/?order_by=id&page_size=200', undefined, users[name].auth);
      expect(list.status, list.text).toBe(200);
      expect(list.json.results.map((r: { id: number }) => r.id).filter((id: number) => mine.has(id))).toEqual(ids);
      expect(list.json.count).toBe(ids.length);
      const summaries = await api('GET', '/api/v2/job_host_summaries/?order_by=id&page_size=200', undefined, users[name].auth);
      expect(summaries.status, summaries.text).toBe(200);
      expect(summaries.json.results.map((r: { job: number }) => r.job).filter((id: number) => mine.has(id)).sort((a: number, b: number) => a - b)).toEqual(ids);
      for (const [job, id] of Object.entries(jobs)) {
        const path = job === 'bulkInOrgA' ? `/api/v2/workflow_jobs/${id}/` : `/api/v2/jobs/${id}/`;
        const detail = await api('GET', path, undefined, users[name].auth);
        expect(detail.status, `${name} reading ${job}`).toBe(want.includes(job) ? 200 : 403);
      }
    });
  }
});
