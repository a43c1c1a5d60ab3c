import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobKinds } from '../../src/db/job-kinds.js';
import { COPY_COLUMN_LIST } from '../../src/pipeline/copy-encode.js';
import { jobField } from '../../src/pipeline/event-json.js';
import { EVENT_COLUMNS, type EventColumn } from '../../src/pipeline/event-row.js';
import { type ReceiverHandle, startReceiver } from '../../src/pipeline/receiver.js';
import { redisKeys } from '../../src/redis-keys.js';
import { type TestEnv, useTestEnv } from '../support/harness.js';
import { startTestWeb } from '../support/web.js';
import { basic, createUser, TestClient } from '../ws/ws-client.js';
import { createJob, push, waitFor } from './support.js';

/**
 * The row type is the one place an event's fields are listed: this test walks
 * EVENT_COLUMNS, so a column added there (and to the tables) is checked here with no other
 * edit — and must come out of COPY, the websocket and REST. Columns the runner sends as
 * they are get a value of their own in the event pushed, so each is followed end to end.
 */
const columns: readonly EventColumn[] = EVENT_COLUMNS;

/** A distinct value for each runner-sourced column, by its type. */
function runnerValue(c: EventColumn, i: number): unknown {
  return c.type === 'int' ? 1000 + i : `value of ${c.name}`;
}

let env: TestEnv;
let receiver: ReceiverHandle;
let base: string;

beforeAll(async () => {
  env = await useTestEnv();
  await createUser(env.pool, 'admin', 'pw', true);
  base = `127.0.0.1:${(await startTestWeb(env)).port}`;
  receiver = await startReceiver({ config: env.config, pool: env.pool, redis: env.redis, workers: 1 });
});

afterAll(async () => { await receiver?.close(); });

describe('one event row', () => {
  it('every column of the row type is stored by COPY and shown by the websocket message and the REST event', async () => {
    const kind = jobKinds.job;
    const job = await createJob(env.pool, 'job');
    const auth = { authorization: basic('admin', 'pw') };
    const client = await TestClient.connect(`ws://${base}/websocket/`, auth);
    await client.subscribe({ groups: { job_events: [job.id] } });

    const event: Record<string, unknown> = { job_id: job.id, event: 'runner_on_ok', counter: 1, created: '2026-11-22T04:27:53.5Z',
      event_data: { host: 'h2', task: 'Greet', play: 'Fixture play', role: 'web', playbook: 'site.yml', res: { changed: true } } };
    columns.forEach((c, i) => { if (c.source === 'runner') event[c.name] = runnerValue(c, i); });
    await push(env.redis, redisKeys(env.config).callbackQueue, [event]);

    const ws = await client.next((m) => m.group_name === 'job_events' && m.counter === 1);
    const stored = await waitFor(async () => (await env.pool.query('SELECT * FROM job_events WHERE job_id = $1', [job.id])).rows[0], 10_000, 'row');
    const res = await fetch(`http://${base}/api/v2/jobs/${job.id}/job_events/`, { headers: auth });
    const rest = ((await res.json()) as { results: Record<string, unknown>[] }).results[0];

    const copyColumns = COPY_COLUMN_LIST.split(', ');
    for (const [i, c] of columns.entries()) {
      expect(copyColumns, c.name).toContain(c.name);
      expect(stored, c.name).toHaveProperty(c.name);
      if (c.source === 'runner') expect(stored[c.name], c.name).toBe(runnerValue(c, i));
      if (c.api === null) continue;
      const key = c.api === 'job' ? jobField(kind) : c.api;
      // The stored value, in the API's terms: timestamps as instants, event_data as an object.
      const value = (v: unknown) => (c.type === 'time' ? Date.parse(v instanceof Date ? v.toISOString() : String(v))
        : c.type === 'json' ? (typeof v === 'string' ? JSON.parse(v) : v) : v);
      expect(value(ws[key]), `websocket ${key}`).toEqual(value(stored[c.name]));
      expect(value(rest[key]), `REST ${key}`).toEqual(value(stored[c.name]));
    }
    // The derived and job columns carry what the event says, not their empty values.
    expect(stored).toMatchObject({ host_id: job.hosts.h2, host_name: 'h2', task: 'Greet', role: 'web', changed: true, job_id: job.id });
    client.close();
  });
});
