import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BroadcastMessage } from '../../src/pipeline/broadcast.js';
import { type ReceiverHandle, startReceiver } from '../../src/pipeline/receiver.js';
import { redisKeys } from '../../src/redis-keys.js';
import { type TestEnv, useTestEnv } from '../support/harness.js';
import { createJob, fixtureEvents, jobStream, push, tapBus, waitFor } from './support.js';

let env: TestEnv;
let receiver: ReceiverHandle;
let tap: { close(): Promise<void> };
const received: BroadcastMessage[] = [];
const violations: string[] = [];

beforeAll(async () => {
  env = await useTestEnv();
  // Emit after commit: on every event message, the rows it announces must already be readable.
  tap = await tapBus(env.redisUrl, env.config, (m) => {
    received.push(m);
    if (!m.group.startsWith('job_events-')) return;
    const jobId = Number(m.group.split('-')[1]);
    const counters = m.messages.map((x) => x.counter as number);
    void env.pool.query('SELECT count(*)::int AS n FROM job_events WHERE job_id = $1 AND counter = ANY($2::int[])', [jobId, counters])
      .then(({ rows }) => { if (rows[0].n !== counters.length) violations.push(`${m.group}: ${rows[0].n}/${counters.length} visible`); });
  });
  receiver = await startReceiver({ config: env.config, pool: env.pool, redis: env.redis, workers: 2 });
});

afterAll(async () => {
  await receiver?.close();
  await tap?.close();
});

describe('callback receiver', () => {
  it('stores a real runner stream with AWX derived columns, wrapup and host status counts', async () => {
    const job = await createJob(env.pool);
    await push(env.redis, redisKeys(env.config).callbackQueue, jobStream('job', job.id));
    await waitFor(async () => (await env.pool.query('SELECT stream_complete FROM unified_jobs WHERE id = $1', [job.id])).rows[0].stream_complete, 20_000, 'stream complete');
    const { rows } = await env.pool.query('SELECT * FROM job_events WHERE job_id = $1 ORDER BY counter', [job.id]);
    expect(rows.map((r) => r.counter)).toEqual(Array.from({ length: 81 }, (_, i) => i + 1));
    const fixtures = fixtureEvents();
    for (const [i, r] of rows.entries()) {
      expect(JSON.parse(r.event_data)).toEqual(fixtures[i].event_data);
      expect(r.stdout).toBe(fixtures[i].stdout);
    }
    const unreachable = rows.find((r) => r.event === 'runner_on_unreachable');
    expect(unreachable).toMatchObject({ failed: true, host_name: 'down', host_id: job.hosts.down, play: 'Fixture play', playbook: 'site.yml' });
    const stats = rows.find((r) => r.event === 'playbook_on_stats');
    expect(stats).toMatchObject({ failed: true, changed: true });
    // Parent propagation: a task whose host event changed is changed.
    const changedTask = rows.find((r) => r.event === 'playbook_on_task_start' && rows.some((c) => c.parent_uuid === r.uuid && c.changed));
    expect(changedTask?.changed).toBe(true);
    const uj = (await env.pool.query('SELECT * FROM unified_jobs WHERE id = $1', [job.id])).rows[0];
    expect(uj.host_status_counts).toEqual({ dark: 1, failures: 1, changed: 3 });
    expect(uj).toMatchObject({ emitted_events: 81, eof_received: true, wrapup_processed: true, event_processing_finished: false });
    const summaries = (await env.pool.query('SELECT * FROM job_host_summaries WHERE job_id = $1 ORDER BY host_name', [job.id])).rows;
    expect(summaries.map((s) => [s.host_name, s.failed])).toEqual([['down', true], ['h1', false], ['h2', false], ['h3', false], ['h4', true]]);
    expect(summaries.find((s) => s.host_name === 'h1')).toMatchObject({ ok: 6, changed: 2, skipped: 2, processed: 1 });
    const h1 = (await env.pool.query('SELECT last_job_id, last_job_host_summary_id FROM hosts WHERE id = $1', [job.hosts.h1])).rows[0];
    expect(h1.last_job_id).toBe(job.id);
    expect(h1.last_job_host_summary_id).toBe(summaries.find((s) => s.host_name === 'h1').id);
    // Broadcasts: every stored event announced once in AWX's websocket shape, then the summary.
    await waitFor(async () => received.some((m) => m.group === 'jobs-summary' && m.messages[0].unified_job_id === job.id), 5000, 'summary');
    const announced = received.filter((m) => m.group === `job_events-${job.id}`).flatMap((m) => m.messages);
    expect(announced.map((m) => m.counter).sort((a, b) => (a as number) - (b as number))).toEqual(rows.map((r) => r.counter));
    expect(announced[0]).toMatchObject({ group_name: 'job_events', job: job.id, type: 'job_event' });
    expect(typeof announced[0].created).toBe('string');
    expect(announced.find((m) => m.counter === stats.counter)?.id).toBe(stats.id);
    expect(violations).toEqual([]);
  });

  it('writes host summaries and hosts\' last job for jobs only, as AWX does (its JobHostSummary and Host.last_job point at jobs)', async () => {
    for (const kind of ['project_update', 'ad_hoc_command'] as const) {
      const other = await createJob(env.pool, kind);
      await push(env.redis, redisKeys(env.config).callbackQueue, jobStream(kind, other.id));
      await waitFor(async () => (await env.pool.query('SELECT stream_complete FROM unified_jobs WHERE id = $1', [other.id])).rows[0].stream_complete, 20_000, `${kind} stream complete`);
      const uj = (await env.pool.query('SELECT host_status_counts FROM unified_jobs WHERE id = $1', [other.id])).rows[0];
      expect(uj.host_status_counts, kind).toEqual({ dark: 1, failures: 1, changed: 3 });
      expect((await env.pool.query('SELECT count(*)::int AS n FROM job_host_summaries WHERE job_id = $1', [other.id])).rows[0].n, kind).toBe(0);
      expect((await env.pool.query('SELECT last_job_id FROM hosts WHERE id = $1', [other.hosts.h1])).rows[0].last_job_id, kind).toBeNull();
    }
  });

  it('sends each bad-event kind to dead letters with its reason while its batch-mates are stored', async () => {
    const job = await createJob(env.pool);
    const ref = { job_id: job.id };
    const good = (counter: number) => ({ ...ref, event: 'verbose', counter, stdout: `line ${counter}`, start_line: counter - 1, end_line: counter, created: '2026-01-01T00:00:00.000001' });
    const items = [
      good(1),
      '{"event": "verbose", "counter": 2, ',
      JSON.stringify({ event: 'verbose', counter: 3, stdout: 'no job' }),
      JSON.stringify({ job_id: 987654321, event: 'verbose', counter: 4 }),
      JSON.stringify({ ...ref, event: 'verbose', counter: 'five' }),
      JSON.stringify({ ...ref, event: 'verbose', counter: 6, stdout: 42 }),
      JSON.stringify({ ...ref, event: 'verbose', counter: 7, event_data: [1] }),
      good(8),
    ];
    await push(env.redis, redisKeys(env.config).callbackQueue, items);
    const dead = await waitFor(async () => {
      const { rows } = await env.pool.query(`SELECT code, reason, job_id, convert_from(payload, 'UTF8') AS payload FROM dead_letters
        WHERE convert_from(payload, 'UTF8') = ANY($1::text[]) ORDER BY id`, [items.slice(1, 7)]);
      return rows.length === 6 && rows;
    }, 10_000, 'dead letters');
    expect(dead.map((d) => d.code).sort()).toEqual(['invalid_json', 'no_job_reference', 'unknown_job', 'wrong_type', 'wrong_type', 'wrong_type']);
    expect(dead.find((d) => d.code === 'unknown_job').reason).toContain('987654321');
    expect(dead.find((d) => d.payload.includes('"stdout":42')).reason).toContain('stdout');
    const { rows } = await env.pool.query('SELECT counter FROM job_events WHERE job_id = $1 ORDER BY counter', [job.id]);
    expect(rows.map((r) => r.counter)).toEqual([1, 8]);
    // Metrics are recorded once the batch is acknowledged, just after its commit.
    await waitFor(async () => receiver.metrics.deadLettered.get({ reason: 'wrong_type' }) >= 3, 5000, 'dead letter metrics');
  });

  it('round-trips arbitrary text through COPY escaping (NUL stripped and counted, invalid UTF-8 replaced)', async () => {
    const job = await createJob(env.pool);
    const samples: string[] = ['tab\there', 'new\nline', 'cr\r\nlf', 'back\\slash \\N \\. end\\', '\\t literal', 'ünïcødé ✓ 🚀',
      '\u001b[0;32mok\u001b[0m', 'lone \ud800 surrogate', 'nul\u0000inside\u0000'];
    // 200 random strings over every code unit class that matters.
    const alphabet = ['\\', '\t', '\n', '\r', '\u0000', 'a', ' ', 'é', '\u2028', '😀', '"', "'", ',', '\u0001', '\u007f'];
    for (let i = 0; i < 200; i++) {
      let s = '';
      for (let j = 0; j < 1 + (i % 40); j++) s += alphabet[Math.floor(Math.random() * alphabet.length)];
      samples.push(s);
    }
    const nulBefore = receiver.metrics.nulStripped.get();
    const utfBefore = receiver.metrics.invalidUtf8.get();
    const events = samples.map((s, i) => ({ job_id: job.id, event: 'verbose', counter: i + 1, stdout: s, event_data: { s } }));
    await push(env.redis, redisKeys(env.config).callbackQueue, events);
    const invalid = Buffer.concat([Buffer.from(`{"job_id": ${job.id}, "event": "verbose", "counter": ${samples.length + 1}, "stdout": "bad `),
      Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(' bytes"}')]);
    await env.redis.rpush(redisKeys(env.config).callbackQueue, invalid);
    const rows = await waitFor(async () => {
      const r = await env.pool.query('SELECT counter, stdout, event_data FROM job_events WHERE job_id = $1 ORDER BY counter', [job.id]);
      return r.rows.length === samples.length + 1 && r.rows;
    }, 10_000, 'rows');
    const expected = (s: string) => Buffer.from(s, 'utf8').toString('utf8').replace(/\u0000/g, '');
    for (const [i, s] of samples.entries()) {
      expect(rows[i].stdout).toBe(expected(s));
      expect(JSON.parse(rows[i].event_data).s).toBe(s);
    }
    expect(rows[samples.length].stdout).toBe('bad \ufffd\ufffd\ufffd bytes');
    const nuls = samples.reduce((n, s) => n + (s.match(/\u0000/g)?.length ?? 0), 0);
    await waitFor(async () => receiver.metrics.invalidUtf8.get() - utfBefore === 1, 5000, 'invalid UTF-8 counted');
    expect(receiver.metrics.nulStripped.get() - nulBefore).toBe(nuls);
  });

  it('keeps ISO 8601 `created` as sent and stamps anything else with the flush time, counted', async () => {
    const job = await createJob(env.pool);
    const sent = ['2026-01-01T00:00:00.123456', '2026-01-01 10:00:00+02:00', 'yesterday', '2026-01-01\t00:00:00', 'Jan 1 2026 10:00'];
    const before = receiver.metrics.badCreated.get();
    await push(env.redis, redisKeys(env.config).callbackQueue,
      sent.map((created, i) => ({ job_id: job.id, event: 'verbose', counter: i + 1, stdout: `line ${i}`, created })));
    const rows = await waitFor(async () => {
      const r = await env.pool.query(`SELECT counter, to_char(created AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') AS created,
        created = modified AS flush_time FROM job_events WHERE job_id = $1 ORDER BY counter`, [job.id]);
      return r.rows.length === sent.length && r.rows;
    }, 10_000, 'rows');
    expect(rows.slice(0, 2).map((r) => r.created)).toEqual(['2026-01-01T00:00:00.123456', '2026-01-01T08:00:00.000000']);
    expect(rows.map((r) => r.flush_time)).toEqual([false, false, true, true, true]);
    await waitFor(async () => receiver.metrics.badCreated.get() - before === 3, 5000, 'bad created counted');
  });

  it('announces again, with their stored ids, replayed events that an earlier attempt committed but never announced', async () => {
    const job = await createJob(env.pool);
    const events = Array.from({ length: 5 }, (_, i) => ({ job_id: job.id, event: 'verbose', counter: i + 1, stdout: `line ${i + 1}` }));
    await push(env.redis, redisKeys(env.config).callbackQueue, events);
    const stored = await waitFor(async () => {
      const r = await env.pool.query('SELECT id, counter FROM job_events WHERE job_id = $1 ORDER BY counter', [job.id]);
      return r.rows.length === 5 && r.rows;
    }, 10_000, 'rows');
    // A receiver on another node finds the same events in its processing list at start, as
    // after a crash between COMMIT and ack: stored once, announced again.
    const config = { ...env.config, nodeName: `replay-${job.id}` };
    await env.redis.rpush(redisKeys(config).processing(config.nodeName, 0), ...events.map((e) => JSON.stringify(e)));
    const before = received.filter((m) => m.group === `job_events-${job.id}`).flatMap((m) => m.messages).length;
    const second = await startReceiver({ config, pool: env.pool, redis: env.redis, workers: 1 });
    try {
      const again = await waitFor(async () => {
        const all = received.filter((m) => m.group === `job_events-${job.id}`).flatMap((m) => m.messages);
        return all.length >= before + 5 && all.slice(before);
      }, 10_000, 'announced again');
      expect(again.map((m) => [m.counter, m.id])).toEqual(stored.map((r) => [r.counter, r.id]));
      const { rows } = await env.pool.query('SELECT count(*)::int AS n FROM job_events WHERE job_id = $1', [job.id]);
      expect(rows[0].n).toBe(5);
      expect(second.metrics.duplicates.get()).toBe(5);
    } finally {
      await second.close();
    }
  });
});
