import { beforeAll, describe, expect, it } from 'vitest';
import { basicAuth, useSeededWeb, type ApiCall } from '../support/web.js';
import type { TestEnv } from '../support/harness.js';
import { heartbeat } from '../../src/scheduler/cluster.js';
import { runTaskManagerPass } from '../../src/scheduler/task-manager.js';

/**
 * Execution and hop nodes added by hostname as awx.awx's `instance` module adds them, with
 * InstanceSerializer's rules, and the health check as AWX answers it. A node added this way
 * takes no job until a process with its hostname heartbeats.
 */
let t: TestEnv;
let api: ApiCall;
const erin = basicAuth('erin', 'erin-password-1');

beforeAll(async () => {
  ({ t, api } = await useSeededWeb());
  expect((await api('POST', '/api/v2/users/', { username: 'erin', password: 'erin-password-1' })).status).toBe(201);
});

describe('instances', () => {
  it('adds an execution node and a hop node peered to it, installed and without capacity', async () => {
    const hop = await api('POST', '/api/v2/instances/', { hostname: 'hop1.example', node_type: 'hop', listener_port: 27199 });
    expect(hop.status).toBe(201);
    const exec = await api('POST', '/api/v2/instances/', { hostname: 'exec1.example', listener_port: '27199', peers: ['hop1.example'],
      capacity_adjustment: '0.5', managed_by_policy: false });
    expect(exec.status).toBe(201);
    expect(exec.json).toMatchObject({ hostname: 'exec1.example', node_type: 'execution', node_state: 'installed', listener_port: 27199,
      peers: [hop.json.id], capacity: 0, managed_by_policy: false, enabled: true });
    expect(Number(exec.json.capacity_adjustment)).toBe(0.5);
    expect((await api('GET', `/api/v2/instances/${exec.json.id}/peers/`)).json.results.map((r: any) => r.hostname)).toEqual(['hop1.example']);
  });

  it("refuses what AWX's serializer refuses, and non-superusers", async () => {
    const post = (body: unknown, headers?: Record<string, string>) => api('POST', '/api/v2/instances/', body, headers);
    expect((await post({ hostname: 'c1', node_type: 'control' })).json).toHaveProperty('node_type');
    expect((await post({ hostname: 'c2', node_state: 'ready' })).json).toHaveProperty('node_state');
    expect((await post({ hostname: 'c3', listener_port: 70000 })).json).toHaveProperty('listener_port');
    expect((await post({ hostname: 'c4', peers: ['nowhere'] })).json).toHaveProperty('peers');
    expect((await post({ hostname: 'c5', peers_from_control_nodes: true })).json).toHaveProperty('peers_from_control_nodes');
    expect((await post({ hostname: 'bad host;rm' })).json).toHaveProperty('hostname');
    expect((await post({ hostname: 'exec1.example' })).status).toBe(400);
    expect((await post({ hostname: 'mine.example' }, erin)).status).toBe(403);
    const exec = (await api('GET', '/api/v2/instances/?hostname=exec1.example')).json.results[0];
    expect((await api('PATCH', `/api/v2/instances/${exec.id}/`, { node_type: 'hop' })).json).toHaveProperty('node_type');
    expect((await api('PATCH', `/api/v2/instances/${exec.id}/`, { hostname: 'other' })).json).toHaveProperty('hostname');
    expect((await api('PATCH', `/api/v2/instances/${exec.id}/`, { listener_port: 1 })).json).toHaveProperty('listener_port');
    expect((await api('PATCH', `/api/v2/instances/${exec.id}/`, { enabled: false }, erin)).status).toBe(403);
    // The same values again are no change (the module's second pass).
    expect((await api('PATCH', `/api/v2/instances/${exec.id}/`, { hostname: 'exec1.example', node_type: 'execution', node_state: 'installed',
      listener_port: 27199, enabled: true })).status).toBe(200);
    expect((await t.pool.query(`SELECT count(*)::int AS n FROM instances WHERE hostname LIKE 'c_' OR hostname = 'mine.example'`)).rows[0].n).toBe(0);
  });

  it('health-checks an execution node from its heartbeats, and places jobs only once it heartbeats', async () => {
    const exec = (await api('GET', '/api/v2/instances/?hostname=exec1.example')).json.results[0];
    const hop = (await api('GET', '/api/v2/instances/?hostname=hop1.example')).json.results[0];
    expect((await api('POST', `/api/v2/instances/${hop.id}/health_check/`)).status).toBe(404);
    expect((await api('POST', `/api/v2/instances/${exec.id}/health_check/`, undefined, erin)).status).toBe(403);
    const r = await api('POST', `/api/v2/instances/${exec.id}/health_check/`);
    expect(r).toMatchObject({ status: 200, json: { msg: 'Health check is running for exec1.example.' } });
    const silent = await api('GET', `/api/v2/instances/${exec.id}/health_check/`);
    expect(silent.json).toMatchObject({ hostname: 'exec1.example', capacity: 0 });
    expect(silent.json.errors).toMatch(/heartbeat/);
    expect(silent.json.last_health_check).not.toBeNull();

    // A job launched now waits: the added node is not ready, and this test's own node is disabled.
    await t.pool.query(`UPDATE instances SET enabled = false WHERE hostname <> 'exec1.example'`);
    const job = (await api('POST', '/api/v2/job_templates/Demo%20Job%20Template++Default/launch/', {})).json.id;
    await runTaskManagerPass(t.pool, { heartbeatTolerance: 60 });
    expect((await t.pool.query(`SELECT count(*)::int AS n FROM unified_jobs WHERE execution_node <> ''`)).rows[0].n).toBe(0);
    // Once a process with its hostname heartbeats, it is ready, healthy, and takes the job.
    await heartbeat(t.pool, 'exec1.example');
    await api('POST', `/api/v2/instances/${exec.id}/health_check/`);
    const healthy = await api('GET', `/api/v2/instances/${exec.id}/health_check/`);
    expect(healthy.json.errors).toBe('');
    expect(healthy.json.capacity).toBeGreaterThan(0);
    await runTaskManagerPass(t.pool, { heartbeatTolerance: 60 });
    // The launch's first work (its project's update, which the job waits for) is placed there.
    expect((await t.pool.query(`SELECT kind, status, execution_node FROM unified_jobs WHERE id <> $1`, [job])).rows)
      .toEqual([{ kind: 'project_update', status: 'waiting', execution_node: 'exec1.example' }]);
    expect((await api('GET', `/api/v2/instances/${exec.id}/`)).json.node_state).toBe('ready');
  });
});
