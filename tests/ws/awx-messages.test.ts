import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_KINDS, jobKinds } from '../../src/db/job-kinds.js';
import { type ReceiverHandle, startReceiver } from '../../src/pipeline/receiver.js';
import { redisKeys } from '../../src/redis-keys.js';
import { type TestEnv, useTestEnv } from '../support/harness.js';
import { startTestWeb } from '../support/web.js';
import { createJob, fixtureEvents, jobStream, push } from '../pipeline/support.js';
import { basic, createUser, type Msg, TestClient } from './ws-client.js';

/**
 * What an AWX websocket client receives for a real runner stream, per job kind, through the
 * real receiver, bus and web node, compared (as parsed JSON) with the messages the event
 * path produced before the bus carried bytes (tests/ws/fixtures/awx-messages.json, captured
 * from that code with AWX_MESSAGES_CAPTURE=1). Values that differ per run — ids, the job's
 * id, host ids, `modified`, a flush-time `created` — are replaced by placeholders first.
 */
const REFERENCE = path.join(import.meta.dirname, 'fixtures/awx-messages.json');

/** The fixture stream plus the cases it lacks: escapes, no or bad `created`, roles, handlers, unknown hosts, ignore_errors. */
function stream(): Record<string, unknown>[] {
  const base = fixtureEvents();
  const n = base.length;
  const extra = [
    { event: 'verbose', stdout: 'tab\there \\ back\u0000slash «ünï» \r\n', created: '2026-11-22T04:27:59.000001' },
    { event: 'debug', stdout: 'no created' },
    { event: 'warning', stdout: 'bad created', created: 'yesterday' },
    { event: 'playbook_on_task_start', created: '2026-11-22T04:27:59.1+02:00',
      event_data: { play: 'P', task: 'Restart', role: 'web', is_conditional: true, playbook: 'site.yml' } },
    { event: 'runner_on_ok', created: '2026-11-22T04:27:59.2Z', event_data: { host: 'not-in-inventory', res: { changed: true }, task: 't' } },
    { event: 'runner_on_failed', created: '2026-11-22T04:27:59.3', event_data: { host: 'h1', ignore_errors: true, task: 't' } },
  ].map((e, i) => ({ uuid: `extra-${i}`, counter: n + i + 1, start_line: 0, end_line: 0, ...e }));
  return [...base, ...extra];
}

function normalize(m: Msg, jobId: number, hosts: Record<string, number>): Msg {
  const hostName = new Map(Object.entries(hosts).map(([name, id]) => [id, `<host ${name}>`]));
  const out: Msg = structuredClone(m);
  const ids = (s: string, id: unknown, to: string) => s.replace(`/${String(id)}/`, `/${to}/`);
  if (m.group_name === 'jobs') return { ...out, unified_job_id: m.unified_job_id === jobId ? '<job>' : m.unified_job_id };
  out.id = '<id>';
  out.url = ids(m.url as string, m.id, '<id>');
  out.related = Object.fromEntries(Object.entries(m.related as Record<string, string>).map(([k, v]) =>
    [k, k === 'host' ? ids(v, m.host, hostName.get(m.host as number)!) : k === 'children' ? ids(v, m.id, '<id>') : ids(v, jobId, '<job>')]));
  for (const k of ['job', 'project_update', 'inventory_update', 'ad_hoc_command', 'system_job']) if (k in m) out[k] = m[k] === jobId ? '<job>' : m[k];
  if (typeof m.host === 'number') out.host = hostName.get(m.host);
  const summary = out.summary_fields as { host?: { id: unknown } };
  if (summary.host) summary.host.id = hostName.get(summary.host.id as number);
  out.modified = '<modified>';
  if (m.created === m.modified) out.created = '<flush time>';
  return out;
}

let env: TestEnv;
let receiver: ReceiverHandle;
let wsUrl: string;

beforeAll(async () => {
  env = await useTestEnv();
  await createUser(env.pool, 'admin', 'pw', true);
  wsUrl = `ws://127.0.0.1:${(await startTestWeb(env)).port}/websocket/`;
  receiver = await startReceiver({ config: env.config, pool: env.pool, redis: env.redis, workers: 2 });
});

afterAll(async () => { await receiver?.close(); });

describe('AWX websocket messages', () => {
  it('an AWX client receives the same messages for every event of every job kind as before', async () => {
    const events = stream();
    const got: Record<string, Msg[]> = {};
    for (const kind of JOB_KINDS) {
      const info = jobKinds[kind];
      const job = await createJob(env.pool, kind);
      const plain = await TestClient.connect(wsUrl, { authorization: basic('admin', 'pw') });
      const batched = await TestClient.connect(wsUrl, { authorization: basic('admin', 'pw') });
      const groups = { [info.eventGroup]: [job.id], jobs: ['summary'] };
      await plain.subscribe({ groups });
      await batched.subscribe({ groups, batch: true });
      await push(env.redis, redisKeys(env.config).callbackQueue, jobStream(kind, job.id, events));
      for (const c of [plain, batched]) {
        await c.until(() => c.counters(info.eventGroup).length >= events.length
          && c.messages.some((m) => m.group_name === 'jobs' && m.unified_job_id === job.id));
      }
      const received = (c: TestClient) => c.messages.filter((m) => m.group_name === info.eventGroup || m.group_name === 'jobs')
        .sort((a, b) => (a.counter as number ?? 1e9) - (b.counter as number ?? 1e9))
        .map((m) => normalize(m, job.id, job.hosts));
      got[kind] = received(plain);
      // Batched frames carry the very same messages.
      expect(received(batched)).toEqual(got[kind]);
      plain.close();
      batched.close();
    }
    if (process.env.AWX_MESSAGES_CAPTURE) fs.writeFileSync(REFERENCE, JSON.stringify(got, null, 1) + '\n');
    const reference = JSON.parse(fs.readFileSync(REFERENCE, 'utf8')) as Record<string, Msg[]>;
    for (const kind of JOB_KINDS) expect(got[kind], kind).toEqual(reference[kind]);
  });
});
