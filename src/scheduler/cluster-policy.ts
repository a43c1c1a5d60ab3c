import type pg from 'pg';
import { withTransaction } from '../db/pool.js';

/**
 * Which instance groups a joining instance belongs to, by the groups' policies (AWX's
 * apply_cluster_membership_policies, for one instance):
 * - `policy_instance_list` naming its hostname always takes it;
 * - otherwise, for an instance `managed_by_policy`, a group takes it while the group has
 *   fewer members than `policy_instance_minimum`, or while its members are fewer than
 *   `policy_instance_percentage` percent of the instances it may hold;
 * - the `controlplane` group never holds execution nodes and every other group never holds
 *   control nodes; hop nodes and container groups hold nothing.
 * Only adds: memberships set by hand (the API's associate) are left as they are, and leaving
 * is deprovisioning (cluster.ts), which deletes the instance and its memberships with it.
 * One node at a time (a transaction-scoped advisory lock, AWX's cluster_policy_lock), so
 * two nodes joining together both count each other. Returns the names of the groups joined.
 */
export const CLUSTER_POLICY_LOCK = 7_204_003;
const CONTROL_PLANE = 'controlplane';

interface GroupRow {
  id: number; name: string; policy_instance_percentage: number; policy_instance_minimum: number;
  policy_instance_list: unknown; members: number; eligible: number; is_member: boolean;
}

export async function applyMembershipPolicies(pool: pg.Pool, instanceId: number): Promise<string[]> {
  return withTransaction(pool, async (db) => {
    await db.query('SELECT pg_advisory_xact_lock($1)', [CLUSTER_POLICY_LOCK]);
    const { rows: [inst] } = await db.query<{ hostname: string; node_type: string; managed_by_policy: boolean }>(
      'SELECT hostname, node_type, managed_by_policy FROM instances WHERE id = $1', [instanceId]);
    if (!inst || inst.node_type === 'hop') return [];
    // For each group: its members and the instances it may hold (excluding the type it never holds), counted with this one.
    const { rows: groups } = await db.query<GroupRow>(
      `SELECT g.id, g.name, g.policy_instance_percentage, g.policy_instance_minimum, g.policy_instance_list,
              (SELECT count(*) FROM instance_group_instances m WHERE m.instance_group_id = g.id AND m.instance_id <> $1)::int AS members,
              (SELECT count(*) FROM instances i WHERE i.node_type <> 'hop' AND i.managed_by_policy
                 AND i.node_type <> CASE WHEN g.name = $2 THEN 'execution' ELSE 'control' END)::int AS eligible,
              EXISTS (SELECT 1 FROM instance_group_instances m WHERE m.instance_group_id = g.id AND m.instance_id = $1) AS is_member
         FROM instance_groups g WHERE NOT g.is_container_group ORDER BY g.id`, [instanceId, CONTROL_PLANE]);
    const joined: string[] = [];
    for (const g of groups) {
      if (g.is_member) continue;
      const listed = Array.isArray(g.policy_instance_list) && g.policy_instance_list.includes(inst.hostname);
      const excluded = inst.node_type === (g.name === CONTROL_PLANE ? 'execution' : 'control');
      const wanted = listed || (!excluded && inst.managed_by_policy && (g.members < g.policy_instance_minimum
        || (g.eligible > 0 && (100 * g.members) / g.eligible < g.policy_instance_percentage)));
      if (!wanted) continue;
      await db.query('INSERT INTO instance_group_instances (instance_group_id, instance_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [g.id, instanceId]);
      joined.push(g.name);
    }
    return joined;
  });
}
