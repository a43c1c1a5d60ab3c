import type pg from 'pg';
import { runTaskManagerPass } from '../../src/scheduler/task-manager.js';
import { launchWorkflowJobTemplate } from '../../src/scheduler/workflow/launch-workflow.js';

/**
 * The workflow line of `npm run bench:scheduler` (issue #14): WORKFLOWS running workflow
 * jobs of 10 nodes each (a chain of success edges over 10 job templates), every one with
 * its current node's job just finished; one task manager pass decides every graph, spawns
 * the next node of each (a job with the node's prompts) and places those jobs. Target:
 * under 1 s for 1,000 workflows. Reported beside the pass that started them (roots) and an
 * idle pass over the same running workflows (nothing finished: decide only).
 */
export async function benchWorkflowPass(pool: pg.Pool, workflows: number): Promise<string[]> {
  const org = (await pool.query(`INSERT INTO organizations (name) VALUES ('wf') RETURNING id`)).rows[0].id;
  const project = (await pool.query(`INSERT INTO projects (name, organization_id) VALUES ('wp', $1) RETURNING id`, [org])).rows[0].id;
  const inv = (await pool.query(`INSERT INTO inventories (name, organization_id) VALUES ('wi', $1) RETURNING id`, [org])).rows[0].id;
  await pool.query(`INSERT INTO hosts (name, inventory_id) SELECT 'h' || g, $1 FROM generate_series(1, 10) g`, [inv]);
  for (const h of ['w1', 'w2', 'w3']) await pool.query(`INSERT INTO instances (hostname, capacity, last_seen) VALUES ($1, 100000, now())`, [h]);
  const wfjt = (await pool.query(`INSERT INTO workflow_job_templates (name, organization_id, allow_simultaneous) VALUES ('chain', $1, true) RETURNING id`, [org])).rows[0].id;
  let previous: number | null = null;
  for (let i = 0; i < 10; i++) {
    const jt = (await pool.query(`INSERT INTO job_templates (name, organization_id, inventory_id, project_id, playbook, allow_simultaneous)
      VALUES ($1, $2, $3, $4, 'x.yml', true) RETURNING id`, [`w${i}`, org, inv, project])).rows[0].id;
    const node: number = (await pool.query(`INSERT INTO workflow_job_template_nodes (workflow_job_template_id, unified_job_template_id, identifier)
      VALUES ($1, $2, $3) RETURNING id`, [wfjt, jt, `n${i}`])).rows[0].id;
    if (previous !== null) await pool.query(`INSERT INTO workflow_job_template_node_edges (from_id, kind, to_id) VALUES ($1, 'success', $2)`, [previous, node]);
    previous = node;
  }
  const t0 = performance.now();
  for (let i = 0; i < workflows; i++) await launchWorkflowJobTemplate(pool, wfjt);
  const launchMs = performance.now() - t0;
  await pool.query('UPDATE instances SET last_seen = now()');
  const pass = async () => {
    const s = performance.now();
    await runTaskManagerPass(pool, { heartbeatTolerance: 600 });
    return performance.now() - s;
  };
  const rootsMs = await pass();
  const idleMs = await pass();
  // Every current node's job finishes (as a worker would save it), then the measured pass.
  await pool.query(`UPDATE unified_jobs SET status = 'successful', finished = now() WHERE kind = 'job' AND status IN ('pending', 'waiting')`);
  const nextMs = await pass();
  const { rows: [c] } = await pool.query(`SELECT count(*)::int AS n FROM unified_jobs WHERE kind = 'job' AND status = 'waiting'`);
  return [
    `workflows: launched ${workflows} workflow jobs of 10 nodes in ${launchMs.toFixed(0)} ms`,
    `workflows: pass starting them and their roots ${rootsMs.toFixed(0)} ms; idle pass over them ${idleMs.toFixed(0)} ms`,
    `workflows: pass starting their next nodes ${nextMs.toFixed(0)} ms (${c.n} jobs placed, target < 1000 ms)`,
  ];
}
