import type pg from 'pg';
import type { FinalFields } from './job-states.js';

/**
 * The execution environment a job runs in, resolved as AWX's resolve_execution_environment:
 * the one the job was launched with (prompt, or its template's, copied at launch), else its
 * project's default_environment, its organization's, its inventory's organization's, the
 * DEFAULT_EXECUTION_ENVIRONMENT setting, and last the managed global one (the host sandbox,
 * migration 1200). Saved on the job when it starts.
 *
 * Only the host sandbox runs here: an EE naming a container image would need a container
 * runtime, and none works on this controller (podman cannot start containers on it), so the
 * job errors before anything runs, with the reason in job_explanation.
 */
export interface ResolvedEnvironment { id: number; name: string; image: string }

export async function resolveJobEnvironment(db: Pick<pg.Pool, 'query'>, jobId: number): Promise<ResolvedEnvironment | undefined> {
  const { rows } = await db.query<{ ee: ResolvedEnvironment }>(
    `WITH j AS (SELECT * FROM unified_jobs WHERE id = $1),
          chosen AS (
            SELECT COALESCE(j.execution_environment_id,
                     (SELECT p.default_environment_id FROM projects p WHERE p.id = j.project_id),
                     (SELECT o.default_environment_id FROM organizations o WHERE o.id = j.organization_id),
                     (SELECT o.default_environment_id FROM inventories i JOIN organizations o ON o.id = i.organization_id WHERE i.id = j.inventory_id),
                     (SELECT e.id FROM api_settings s JOIN execution_environments e ON jsonb_typeof(s.value) = 'number' AND e.id = (s.value #>> '{}')::bigint
                       WHERE s.key = 'DEFAULT_EXECUTION_ENVIRONMENT'),
                     (SELECT e.id FROM execution_environments e WHERE e.managed AND e.organization_id IS NULL ORDER BY e.id LIMIT 1)) AS id
              FROM j)
     UPDATE unified_jobs u SET execution_environment_id = chosen.id FROM chosen
      WHERE u.id = $1 AND chosen.id IS NOT NULL
     RETURNING (SELECT json_build_object('id', e.id, 'name', e.name, 'image', e.image) FROM execution_environments e WHERE e.id = chosen.id) AS ee`,
    [jobId]);
  return rows[0]?.ee;
}

/** The final status of a job whose environment cannot run here; undefined when it runs in the host sandbox. */
export function unrunnableEnvironment(ee: ResolvedEnvironment | undefined): FinalFields | undefined {
  if (!ee || !ee.image) return undefined;
  return { status: 'error', jobExplanation: `The execution environment "${ee.name}" (${ee.id}) runs the container image ${ee.image}, `
    + 'but a container runtime is not available here (podman cannot start containers on this machine): the job was not started. '
    + 'Use the host sandbox execution environment.' };
}
