import { sourceVarsProblems } from '../../scheduler/inventory-update.js';
import { sourceCredentialProblem } from '../../scheduler/inventory-sources/cloud-sources.js';
import { compileHostFilter } from '../../scheduler/inventory-sources/import-options.js';
import { parseVars } from '../../scheduler/vars.js';
import type { Queryable, Row } from '../engine/resource.js';
import { badRequest } from '../http.js';

/**
 * What an inventory source must be to be saved, checked on the merged result of the request
 * and the stored row (AWX's InventorySourceSerializer and cloud_credential_validation):
 * - `source_vars` a mapping; for `scm`, names its script may receive as environment
 *   variables (sourceVarsProblems); for a cloud source they are plugin options;
 * - `credential` of the cloud source's own type (ec2 may go without one); not insights or
 *   vault for `scm`;
 * - `source_project` for `scm`; `host_filter` a regular expression that compiles;
 * - refused, with 400, what Playstream does not do: `file` sources (AWX cannot update them
 *   through its task system either; they come from `awx-manage inventory_import`) and an
 *   `scm_branch` other than the project's, a `limit` (AWX passes it to ansible-inventory
 *   --limit, which Debian's ansible-core 2.14 does not have).
 */
export async function checkInventorySource(db: Queryable, data: Row, existing: Row | undefined): Promise<void> {
  const merged = { ...(existing ?? {}), ...data } as Row;
  const source = String(merged.source ?? 'scm');
  if (data.source === 'file') throw badRequest({ source: ['file sources are imported with awx-manage inventory_import; Playstream does not update them.'] });
  if (data.limit) throw badRequest({ limit: ['limit needs ansible-inventory --limit (ansible-core 2.15+), which this controller\'s Ansible does not have.'] });
  if (data.scm_branch) throw badRequest({ scm_branch: ['Playstream does not update an inventory source from another branch than its project\'s.'] });
  if (data.source_vars !== undefined || data.source !== undefined) {
    let vars: Record<string, unknown>;
    try { vars = parseVars(merged.source_vars ?? '', 'source_vars'); } catch (err) { throw badRequest({ source_vars: [(err as Error).message] }); }
    // Variables the update would refuse as its environment (LD_PRELOAD, PYTHONPATH, ANSIBLE_*...) are refused now.
    const problems = source === 'scm' ? sourceVarsProblems(vars) : [];
    if (problems.length) throw badRequest({ source_vars: problems });
  }
  if (data.host_filter !== undefined) {
    try { compileHostFilter(String(data.host_filter ?? '')); } catch (err) { throw badRequest({ host_filter: [`Invalid regular expression: ${(err as Error).message}`] }); }
  }
  if (source === 'scm' && merged.source_project == null && (data.source !== undefined || data.source_project !== undefined)) {
    throw badRequest({ source_project: ['Project required for scm type sources.'] });
  }
  if (data.source !== undefined || data.credential !== undefined) {
    let cred: { namespace: string | null; kind: string } | null = null;
    if (merged.credential != null) {
      const { rows } = await db.query<{ namespace: string | null; kind: string }>(
        'SELECT t.namespace, t.kind FROM credentials c JOIN credential_types t ON t.id = c.credential_type_id WHERE c.id = $1', [merged.credential]);
      cred = rows[0] ?? null;
    }
    const problem = sourceCredentialProblem(source, cred);
    if (problem) throw badRequest({ credential: [problem] });
  }
}
