import { beforeAll, describe, expect, it } from 'vitest';
import type { TestEnv } from '../support/harness.js';
import { type ApiCall, useSeededWeb } from '../support/web.js';

/**
 * A launched workflow job appears with its whole graph or not at all. The task manager reads
 * a workflow's nodes and edges when it sees the job: a job visible before its edges made
 * every node a root, and the console test once saw a workflow run its success path and its
 * failure path (the rollback) at once. The probe reads, in one snapshot each time, every
 * workflow job of the template with its node and edge counts, as fast as it can, while
 * launches go through the API. A sliced job is a workflow job too.
 */
let t: TestEnv;
let api: ApiCall;

beforeAll(async () => {
  ({ t, api } = await useSeededWeb());
});

/**
 * The graphs seen: each workflow job of `templateId` (for a sliced job, its job template)
 * with its node and edge counts, read in one snapshot after another on a connection of its
 * own while `times` launches go through the API at `launchPath`.
 */
async function graphsSeenWhileLaunching(templateId: number, sliced: boolean, launchPath: string, times: number): Promise<{ nodes: number; edges: number }[]> {
  const probe = await t.pool.connect();
  const seen: { nodes: number; edges: number }[] = [];
  let launching = true;
  const watching = (async () => {
    while (launching) {
      const { rows } = await probe.query<{ nodes: number; edges: number }>(
        `SELECT (SELECT count(*)::int FROM workflow_job_nodes n WHERE n.workflow_job_id = j.id) AS nodes,
                (SELECT count(*)::int FROM workflow_job_node_edges e JOIN workflow_job_nodes n ON n.id = e.from_id
                  WHERE n.workflow_job_id = j.id) AS edges
           FROM unified_jobs j WHERE j.kind = 'workflow_job' AND j.unified_job_template_id = $1 AND j.is_sliced_job = $2`, [templateId, sliced]);
      seen.push(...rows);
    }
  })();
  try {
    for (let i = 0; i < times; i++) expect((await api('POST', launchPath, {})).status).toBe(201);
  } finally {
    launching = false;
    await watching;
    probe.release();
  }
  expect(seen.length).toBeGreaterThan(times);
  return seen;
}

describe('workflow launch', () => {
  it('makes the workflow job visible only together with all its nodes and edges', async () => {
    const demo = (await api('GET', '/api/v2/job_templates/?name=Demo%20Job%20Template')).json.results[0];
    const w = (await api('POST', '/api/v2/workflow_job_templates/', { name: 'Atomic', organization: 1 })).json;
    const first = (await api('POST', `/api/v2/workflow_job_templates/${w.id}/workflow_nodes/`, { unified_job_template: demo.id, identifier: 'first' })).json;
    const ok = (await api('POST', `/api/v2/workflow_job_template_nodes/${first.id}/success_nodes/`, { unified_job_template: demo.id, identifier: 'ok' })).json;
    await api('POST', `/api/v2/workflow_job_template_nodes/${first.id}/failure_nodes/`, { unified_job_template: demo.id, identifier: 'rollback' });
    await api('POST', `/api/v2/workflow_job_template_nodes/${ok.id}/always_nodes/`, { unified_job_template: demo.id, identifier: 'last' });

    const seen = await graphsSeenWhileLaunching(w.id, false, `/api/v2/workflow_job_templates/${w.id}/launch/`, 30);
    expect(seen.filter((s) => s.nodes !== 4 || s.edges !== 3)).toEqual([]);
  });

  it('makes a sliced job visible only together with its slices', async () => {
    const demo = (await api('GET', '/api/v2/job_templates/?name=Demo%20Job%20Template')).json.results[0];
    const inv = (await api('POST', '/api/v2/inventories/', { name: 'three hosts', organization: 1 })).json.id;
    for (const name of ['a', 'b', 'c']) expect((await api('POST', '/api/v2/hosts/', { name, inventory: inv })).status).toBe(201);
    const jt = (await api('POST', '/api/v2/job_templates/', { name: 'Sliced', project: demo.project, inventory: inv, playbook: demo.playbook, job_slice_count: 3 })).json;
    const seen = await graphsSeenWhileLaunching(jt.id, true, `/api/v2/job_templates/${jt.id}/launch/`, 20);
    expect(seen.filter((g) => g.nodes !== 3 || g.edges !== 0)).toEqual([]);
  });
});
