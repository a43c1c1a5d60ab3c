import { defineResource, type Queryable, type Row } from '../engine/resource.js';
import { badRequest } from '../http.js';
import { base, bool, ro } from './common.js';

/**
 * Instances (AWX's Instance and InstanceSerializer). Playstream's own nodes register
 * themselves by heartbeat (src/scheduler/cluster.ts, node type from PLAYSTREAM_NODE_TYPE); a superuser adds
 * an execution or hop node by hostname as awx.awx's `instance` module does. Such a node is
 * `installed` and takes no job until a Playstream process with its hostname heartbeats
 * (`ready`); a hop node never takes jobs (placement.ts) — Playstream has no receptor mesh,
 * so `listener_port` and `peers` are recorded for the topology, not dialled.
 *
 * As InstanceSerializer's validators: created only as `execution` or `hop`, only
 * `installed`; hostname, node type, listener port (once set) and peers never change;
 * `peers_from_control_nodes` needs a listener port and is refused (control nodes reach
 * execution nodes through Postgres and Redis, not a receptor mesh).
 */
const PEERS_SQL = 'ARRAY(SELECT p.peer_id FROM instance_peers p WHERE p.instance_id = t.id ORDER BY p.peer_id)';

async function peerIds(db: Queryable, given: unknown): Promise<number[]> {
  if (!Array.isArray(given)) throw badRequest({ peers: ['Expected a list of items.'] });
  const { rows } = await db.query<{ id: string; hostname: string }>(
    'SELECT id, hostname FROM instances WHERE id::text = ANY($1::text[]) OR hostname = ANY($1::text[])', [given.map(String)]);
  const ids = given.map((g) => rows.find((r) => r.id === String(g) || r.hostname === String(g)));
  const missing = given.filter((_, i) => !ids[i]);
  if (missing.length) throw badRequest({ peers: missing.map((m) => `Invalid pk "${String(m)}" - object does not exist.`) });
  const out = ids.map((r) => Number(r!.id));
  if (new Set(out).size !== out.length) throw badRequest({ peers: ['Cannot peer to the same instance more than once.'] });
  return out;
}

export const instances = defineResource({
  key: 'instances', type: 'instance', table: 'instances',
  fields: {
    ...base,
    hostname: { type: 'text', writable: true, required: true, maxLength: 250 },
    uuid: ro('text'),
    node_type: { type: 'text', writable: true, choices: ['control', 'execution', 'hybrid', 'hop'], default: 'execution' },
    node_state: { type: 'text', writable: true, default: 'installed',
      choices: ['provisioning', 'provision-fail', 'installed', 'ready', 'unavailable', 'deprovisioning', 'deprovision-fail'] },
    version: ro('text'),
    enabled: bool({ default: true }), managed_by_policy: bool({ default: true }), cpu: ro('float'), memory: ro('int'), cpu_capacity: ro('int'),
    mem_capacity: ro('int'), capacity_adjustment: { type: 'float', writable: true, default: 1 }, capacity: ro('int'), errors: ro('text'),
    last_seen: ro('time'), last_health_check: ro('time'),
    listener_port: { type: 'int', writable: true, nullAs: null },
    peers: { type: 'json', writable: true, col: PEERS_SQL },
    peers_from_control_nodes: { type: 'bool', writable: true, col: 'false', default: false },
    jobs_running: ro('int', { col: `(SELECT count(*) FROM unified_jobs j WHERE j.execution_node = t.hostname AND j.status IN ('waiting', 'running'))::int` }),
    consumed_capacity: ro('int', { col: `(SELECT coalesce(sum(j.task_impact), 0) FROM unified_jobs j WHERE j.execution_node = t.hostname AND j.status IN ('waiting', 'running'))::int` }),
  },
  search: ['hostname'], namedUrl: ['hostname'], summary: ['id', 'hostname'], noDelete: true,
  access: { roleType: 'instance', public: true, orgExpr: null },
  related: (r) => ({ jobs: `/api/v2/instances/${r.id}/jobs/`, instance_groups: `/api/v2/instances/${r.id}/instance_groups/`,
    health_check: `/api/v2/instances/${r.id}/health_check/`, peers: `/api/v2/instances/${r.id}/peers/` }),
  present: (row, out) => {
    out.peers = ((row.peers ?? []) as unknown[]).map(Number);
  },
  prepare: async (_ctx, db, data, existing) => {
    const errors: Record<string, string[]> = {};
    if (existing) {
      if (data.hostname !== undefined && data.hostname !== existing.hostname) errors.hostname = ['Cannot change hostname.'];
      if (data.node_type !== undefined && data.node_type !== existing.node_type) errors.node_type = ['Cannot change node type.'];
      if (data.node_state !== undefined && data.node_state !== existing.node_state) {
        errors.node_state = ['Can only change the state on Kubernetes or OpenShift.'];
      }
      if (data.listener_port != null && existing.listener_port != null && data.listener_port !== existing.listener_port) {
        errors.listener_port = ['Cannot change listener port.'];
      }
    } else {
      if (data.node_type !== undefined && data.node_type !== 'execution' && data.node_type !== 'hop') errors.node_type = ['Can only create execution or hop nodes.'];
      if (data.node_state !== undefined && data.node_state !== 'installed') errors.node_state = ["Can only create instances in the 'installed' state."];
      if (typeof data.hostname === 'string' && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(data.hostname)) errors.hostname = ['Enter a valid hostname.'];
    }
    if (data.listener_port != null && ((data.listener_port as number) < 1 || (data.listener_port as number) > 65535)) {
      errors.listener_port = ['Ensure this value is between 1 and 65535.'];
    }
    if (data.capacity_adjustment !== undefined && !(Number(data.capacity_adjustment) >= 0 && Number(data.capacity_adjustment) <= 9.99)) {
      errors.capacity_adjustment = ['Ensure this value is between 0 and 9.99.'];
    }
    if (data.peers_from_control_nodes) errors.peers_from_control_nodes = ['Playstream has no receptor mesh for control nodes to peer over: only false is supported.'];
    if (Object.keys(errors).length) throw badRequest(errors);
    delete data.peers_from_control_nodes;
    if (data.peers !== undefined) {
      const ids = data.peers === null ? [] : await peerIds(db, data.peers);
      const before = ((existing?.peers ?? []) as unknown[]).map(Number).sort();
      if (existing && JSON.stringify([...ids].sort()) !== JSON.stringify(before)) throw badRequest({ peers: ['Cannot change peers.'] });
      if (existing && ids.includes(existing.id as number)) throw badRequest({ peers: ['Instance cannot peer to its own address.'] });
      data.peers = ids;
    }
    return data;
  },
  insert: async (_ctx, db, data) => {
    const { rows } = await db.query(
      `INSERT INTO instances (hostname, node_type, node_state, enabled, managed_by_policy, capacity_adjustment, listener_port, capacity)
       VALUES ($1, $2, $3, $4, $5, $6, $7, 0) RETURNING id`,
      [data.hostname, data.node_type ?? 'execution', data.node_state ?? 'installed', data.enabled ?? true, data.managed_by_policy ?? true,
        data.capacity_adjustment ?? 1, data.listener_port ?? null]);
    const id = Number(rows[0].id);
    const peers = (data.peers ?? []) as number[];
    if (peers.length) await db.query('INSERT INTO instance_peers (instance_id, peer_id) SELECT $1, unnest($2::bigint[])', [id, peers]);
    return id;
  },
  update: async (_ctx, db, id, data: Row) => {
    const cols = ['enabled', 'managed_by_policy', 'capacity_adjustment', 'listener_port'].filter((c) => data[c] !== undefined);
    if (cols.length) {
      await db.query(`UPDATE instances SET ${cols.map((c, i) => `${c} = $${i + 2}`).join(', ')}, modified = now() WHERE id = $1`,
        [id, ...cols.map((c) => data[c])]);
    }
  },
});
