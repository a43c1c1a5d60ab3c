import type pg from 'pg';

/**
 * An organization's `max_hosts` (AWX's check_org_host_limit): hosts are counted by distinct
 * name across the organization's inventories, so a name it already has adds nothing; 0 is no
 * limit. Checked wherever hosts are made: the API's host create, the bulk API, and inventory
 * syncs. Inside a transaction the organization's row is locked first, so two writers cannot
 * both fit under the limit.
 */
export async function hostLimitProblem(db: Pick<pg.Pool, 'query'>, inventoryId: number, names: string[]): Promise<string | undefined> {
  const { rows: [org] } = await db.query<{ id: string; max_hosts: number }>(
    `SELECT o.id, o.max_hosts FROM inventories i JOIN organizations o ON o.id = i.organization_id WHERE i.id = $1`, [inventoryId]);
  if (!org || !(org.max_hosts > 0) || !names.length) return undefined;
  await db.query('SELECT 1 FROM organizations WHERE id = $1 FOR UPDATE', [org.id]);
  const { rows: [c] } = await db.query<{ used: number; adding: number }>(
    `WITH org_hosts AS (SELECT DISTINCT h.name FROM hosts h JOIN inventories i ON i.id = h.inventory_id WHERE i.organization_id = $1)
     SELECT (SELECT count(*) FROM org_hosts)::int AS used,
            (SELECT count(DISTINCT n) FROM unnest($2::text[]) n WHERE n NOT IN (SELECT name FROM org_hosts))::int AS adding`,
    [org.id, names]);
  if (c.adding === 0 || c.used + c.adding <= org.max_hosts) return undefined;
  return `You have already reached the maximum number of ${org.max_hosts} hosts allowed for your organization. Contact your System Administrator for assistance.`;
}
