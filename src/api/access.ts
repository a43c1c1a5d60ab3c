import type { AuthenticatedUser } from './auth.js';
import type { ApiContext } from './context.js';

/**
 * Read access to unified jobs, the one check the websocket server and the event/stdout
 * endpoints need. Superusers and system auditors read everything; other users read a job
 * whose organization they belong to or that they launched. The RBAC layer (API issue)
 * replaces the body with its role model; callers keep this signature.
 */
export async function canReadUnifiedJob(ctx: ApiContext, user: AuthenticatedUser, jobId: number): Promise<boolean> {
  if (user.is_superuser || user.is_system_auditor) return true;
  const { rowCount } = await ctx.pool.query('SELECT 1 FROM unified_jobs WHERE id = $1 AND created_by_id = $2', [jobId, user.id]);
  return (rowCount ?? 0) > 0;
}
