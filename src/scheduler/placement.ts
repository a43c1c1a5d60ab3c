import type pg from 'pg';

/**
 * Where a job runs. Candidate instance groups come from the job template, then its
 * inventory, then its organization (each ordered by position), as AWX's
 * preferred_instance_groups — a template or inventory with `prevent_instance_group_fallback`
 * ends the list with its own groups; a job with none falls back to the `default` group, and
 * with no groups at all to every instance. A group whose members already run its
 * `max_concurrent_jobs`, or whose job would take their consumed forks (impact) past its
 * `max_forks`, is passed over for the next (0: no limit), as AWX's has_remaining_capacity. Within a group, the instance with the most remaining
 * capacity that fits the job's impact wins. AWX's rule for an idle instance: one running
 * nothing takes a job even when the impact exceeds its capacity, so a big job never starves.
 * Only hybrid and execution instances run jobs: a control node (web, receiver, task manager)
 * and a hop node are never candidates, whatever groups they are in. An instance with capacity 0 takes nothing; when every candidate has 0 and some say why in
 * `errors` (a node missing ansible-runner, say), `instanceErrors` gives the job that reason.
 */
export interface InstanceSlot {
  id: number;
  hostname: string;
  capacity: number;
  consumed: number;
  jobs: number;
  errors: string;
}

export interface PlacementState {
  instances: Map<string, InstanceSlot>;
  /** instance group id → hostnames of its ready members. */
  groupMembers: Map<number, string[]>;
  defaultGroupId: number | null;
  templateGroups: Map<number, number[]>;
  inventoryGroups: Map<number, number[]>;
  organizationGroups: Map<number, number[]>;
  /** Templates and inventories whose prevent_instance_group_fallback is on. */
  noFallback: { templates: Set<number>; inventories: Set<number> };
  /** instance group id → its max_concurrent_jobs and max_forks (0: no limit). */
  groupLimits: Map<number, { maxJobs: number; maxForks: number }>;
  /** Whether any instance reports errors: when none does, instanceErrors is not worth calling. */
  anyErrors: boolean;
}

export interface Placement { hostname: string; instanceGroupId: number | null }

export async function loadPlacementState(db: pg.PoolClient, heartbeatTolerance: number): Promise<PlacementState> {
  const { rows: inst } = await db.query<{ id: number; hostname: string; capacity: number; errors: string }>(
    `SELECT id, hostname, capacity, errors FROM instances
      WHERE enabled AND node_state = 'ready' AND node_type IN ('hybrid', 'execution')
        AND last_seen > now() - make_interval(secs => $1)`, [heartbeatTolerance]);
  const instances = new Map<string, InstanceSlot>(inst.map((i) => [i.hostname,
    { id: i.id, hostname: i.hostname, capacity: i.capacity, consumed: 0, jobs: 0, errors: i.errors }]));
  const { rows: used } = await db.query<{ execution_node: string; impact: number; jobs: number }>(
    `SELECT execution_node, sum(task_impact)::int AS impact, count(*)::int AS jobs FROM unified_jobs
      WHERE status IN ('waiting', 'running') GROUP BY execution_node`);
  for (const u of used) {
    const slot = instances.get(u.execution_node);
    if (slot) { slot.consumed = u.impact; slot.jobs = u.jobs; }
  }
  const { rows: members } = await db.query<{ instance_group_id: number; hostname: string }>(
    `SELECT m.instance_group_id, i.hostname FROM instance_group_instances m JOIN instances i ON i.id = m.instance_id`);
  const groupMembers = new Map<number, string[]>();
  for (const m of members) {
    if (!instances.has(m.hostname)) continue;
    groupMembers.set(m.instance_group_id, [...(groupMembers.get(m.instance_group_id) ?? []), m.hostname]);
  }
  const { rows: def } = await db.query<{ id: number }>(`SELECT id FROM instance_groups WHERE name = 'default'`);
  const { rows: limits } = await db.query<{ id: string; max_concurrent_jobs: number; max_forks: number }>(
    'SELECT id, max_concurrent_jobs, max_forks FROM instance_groups WHERE max_concurrent_jobs > 0 OR max_forks > 0');
  const { rows: [prevent] } = await db.query<{ templates: string[]; inventories: string[] }>(
    `SELECT ARRAY(SELECT id FROM job_templates WHERE prevent_instance_group_fallback) AS templates,
            ARRAY(SELECT id FROM inventories WHERE prevent_instance_group_fallback) AS inventories`);
  const ordered = async (table: string, column: string) => {
    const { rows } = await db.query<{ ref: number; ig: number }>(
      `SELECT ${column} AS ref, instance_group_id AS ig FROM ${table} ORDER BY ${column}, position, instance_group_id`);
    const map = new Map<number, number[]>();
    for (const r of rows) map.set(r.ref, [...(map.get(r.ref) ?? []), r.ig]);
    return map;
  };
  return {
    instances, groupMembers, defaultGroupId: def[0]?.id ?? null,
    templateGroups: await ordered('job_template_instance_groups', 'job_template_id'),
    inventoryGroups: await ordered('inventory_instance_groups', 'inventory_id'),
    organizationGroups: await ordered('organization_instance_groups', 'organization_id'),
    noFallback: { templates: new Set(prevent.templates.map(Number)), inventories: new Set(prevent.inventories.map(Number)) },
    groupLimits: new Map(limits.map((l) => [Number(l.id), { maxJobs: l.max_concurrent_jobs, maxForks: l.max_forks }])),
    anyErrors: inst.some((i) => i.errors !== ''),
  };
}

export function candidateGroups(state: PlacementState, job: {
  kind: string; unified_job_template_id: number | null; inventory_id: number | null; organization_id: number | null;
}): (number | null)[] {
  const groups: number[] = [];
  const template = job.kind === 'job' ? job.unified_job_template_id : null;
  const inventory = job.inventory_id && ['job', 'ad_hoc_command', 'inventory_update'].includes(job.kind) ? job.inventory_id : null;
  // Each level adds its groups; one that prevents fallback stops the levels after it.
  const levels: [Map<number, number[]>, number | null, Set<number> | null][] = [
    [state.templateGroups, template, state.noFallback.templates],
    [state.inventoryGroups, inventory, state.noFallback.inventories],
    [state.organizationGroups, job.organization_id, null],
  ];
  for (const [byRef, ref, prevents] of levels) {
    if (ref == null) continue;
    groups.push(...(byRef.get(ref) ?? []));
    if (prevents?.has(ref)) break;
  }
  if (!groups.length && state.defaultGroupId !== null) groups.push(state.defaultGroupId);
  // With no instance groups configured at all (or a default group with no members yet),
  // every ready instance is a candidate: a fresh cluster runs work before anyone sets groups up.
  const unique = [...new Set(groups)];
  if (!unique.some((g) => (state.groupMembers.get(g) ?? []).length)) return [null];
  return unique;
}

function membersOf(state: PlacementState, group: number | null): string[] {
  return group === null ? [...state.instances.keys()] : state.groupMembers.get(group) ?? [];
}

/**
 * Why no candidate instance can run anything, when that is what their `errors` say: each
 * erring instance's hostname and errors. Null when some candidate has capacity (the job
 * waits for room, not for a fix) or none says why.
 */
export function instanceErrors(state: PlacementState, groups: (number | null)[]): string | null {
  const reasons = new Set<string>();
  for (const group of groups) {
    for (const name of membersOf(state, group)) {
      const slot = state.instances.get(name)!;
      if (slot.capacity > 0) return null;
      if (slot.errors) reasons.add(`${slot.hostname} ${slot.errors}`);
    }
  }
  return reasons.size ? [...reasons].join('; ') : null;
}

/** Picks an instance and reserves the impact on it; null when nothing fits. */
export function placeJob(state: PlacementState, groups: (number | null)[], impact: number): Placement | null {
  for (const group of groups) {
    const members = membersOf(state, group);
    if (group !== null && !withinGroupLimits(state, group, members, impact)) continue;
    let best: InstanceSlot | null = null;
    for (const name of members) {
      const slot = state.instances.get(name)!;
      if (slot.capacity - slot.consumed >= impact && (!best || slot.capacity - slot.consumed > best.capacity - best.consumed)) best = slot;
    }
    if (!best) {
      for (const name of members) {
        const slot = state.instances.get(name)!;
        if (slot.jobs === 0 && slot.capacity > 0 && (!best || slot.capacity > best.capacity)) best = slot;
      }
    }
    if (best) {
      best.consumed += impact;
      best.jobs += 1;
      return { hostname: best.hostname, instanceGroupId: group };
    }
  }
  return null;
}

/** The group's max_concurrent_jobs and max_forks, counted over its members' work as AWX counts them. */
function withinGroupLimits(state: PlacementState, group: number, members: string[], impact: number): boolean {
  const limits = state.groupLimits.get(group);
  if (!limits) return true;
  let jobs = 0;
  let consumed = 0;
  for (const name of members) {
    const slot = state.instances.get(name)!;
    jobs += slot.jobs;
    consumed += slot.consumed;
  }
  if (limits.maxJobs > 0 && jobs + 1 > limits.maxJobs) return false;
  return !(limits.maxForks > 0 && consumed + impact > limits.maxForks);
}
