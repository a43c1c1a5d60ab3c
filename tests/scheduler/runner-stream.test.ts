import crypto from 'node:crypto';
import fs from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { sharedFixture } from '../../src/paths.js';
import { EventPusher } from '../../src/scheduler/event-push.js';
import { Redactor } from '../../src/scheduler/redact.js';
import { WorkerStream } from '../../src/scheduler/runner-stream.js';
import { useTestEnv, type TestEnv } from '../support/harness.js';

/**
 * The worker stream reader (runner-stream.ts) on the recorded stream of a real
 * `ansible-runner worker`, fed in chunks of every size, into a real EventPusher and Redis.
 */
let t: TestEnv;
let jobId = 1000;

beforeAll(async () => { t = await useTestEnv(); });

/** The recorded stream as the worker writes it: ending in the base64 artifacts zip and `{"eof": true}` on the same line. */
function recordedStream(): string {
  const zip = crypto.randomBytes(2897);
  const lines = fs.readFileSync(sharedFixture('runner-worker-stream.jsonl'), 'utf8').trimEnd().split('\n');
  return `${lines.join('\n')}\n${zip.toString('base64')}{"eof": true}\n`;
}

async function run(text: string, chunk: number, opts: { maxLineBytes?: number; secrets?: string[] } = {}) {
  const id = ++jobId;
  const queue = `${t.config.redisPrefix}stream-test-${id}`;
  const pusher = new EventPusher(t.redis, queue, 'job_id', id, new Date('2026-11-29T10:00:00Z'), new Redactor(opts.secrets ?? []));
  const stream = new WorkerStream(pusher, opts);
  for (let i = 0; i < text.length; i += chunk) stream.write(text.slice(i, i + chunk));
  stream.end();
  const final = await pusher.finish();
  const events = (await t.redis.lrange(queue, 0, -1)).map((l) => JSON.parse(l));
  return { stream, final, events: events.filter((e) => e.event !== 'EOF'), eof: events.at(-1) };
}

describe('reading the worker stream', () => {
  it('every event of a real worker stream, whatever the chunking; status read, artifacts skipped', async () => {
    const text = recordedStream();
    for (const chunk of [1, 7, 100, 4096, text.length]) {
      const { stream, events, eof, final } = await run(text, chunk);
      expect(events.map((e) => e.counter)).toEqual(Array.from({ length: 81 }, (_, i) => i + 1));
      expect(events.every((e) => e.job_id === jobId && e.job_created === '2026-11-29T10:00:00.000Z')).toBe(true);
      expect(stream.strayLines).toBe(0);
      expect(stream.status).toBe('failed');
      expect(stream.command[0]).toBe('ansible-playbook');
      expect(final).toBe(81);
      expect(eof).toMatchObject({ event: 'EOF', final_counter: 81, job_id: jobId });
    }
  });

  it('a stray plain-text line becomes a verbose event in place, and later counters and lines move up', async () => {
    const lines = recordedStream().split('\n');
    // After the 5th event (stream line index 2 is counter 1).
    lines.splice(7, 0, 'DeprecationWarning: something a library printed');
    const { events, final } = await run(lines.join('\n'), 512);
    expect(events.map((e) => e.counter)).toEqual(Array.from({ length: 82 }, (_, i) => i + 1));
    const stray = events[5];
    expect(stray).toMatchObject({ event: 'verbose', counter: 6, stdout: 'DeprecationWarning: something a library printed' });
    expect(stray.start_line).toBe(events[4].end_line);
    expect(events[6].start_line).toBe(stray.end_line);
    expect(final).toBe(82);
  });

  it("Ansible's ERROR! lines are kept for job_explanation; secrets are redacted", async () => {
    const ev = (counter: number, stdout: string) => JSON.stringify({ event: 'verbose', uuid: crypto.randomUUID(), counter, stdout,
      start_line: counter - 1, end_line: counter, created: '2026-11-29T10:00:00.000001' });
    const text = [
      '{"status": "starting", "runner_ident": "1", "command": ["ansible-playbook", "x.yml"]}',
      ev(1, '\u001b[1;35m[WARNING]: provided hosts list is empty\u001b[0m'),
      ev(2, '\u001b[0;31mERROR! the playbook: x.yml could not be found (token hunter2)\u001b[0m'),
      '{"status": "failed", "runner_ident": "1"}', '{"zipfile": 3}', 'AAAA{"eof": true}', ''].join('\n');
    const { stream, events } = await run(text, 10, { secrets: ['hunter2'] });
    expect(events.map((e) => e.counter)).toEqual([1, 2]);
    expect(stream.errorLines).toEqual(['ERROR! the playbook: x.yml could not be found (token hunter2)']);
    expect(JSON.stringify(events)).not.toContain('hunter2');
  });

  it('a line over the limit is replaced by a verbose event with its counter: memory stays bounded, no gap', async () => {
    const big = JSON.stringify({ uuid: 'u', counter: 2, event: 'runner_on_ok', stdout: 'y'.repeat(50_000), start_line: 1, end_line: 2 });
    const small = (counter: number) => JSON.stringify({ uuid: `u${counter}`, counter, event: 'verbose', stdout: `line ${counter}`,
      start_line: counter - 1, end_line: counter });
    const { events } = await run([small(1), big, small(3), ''].join('\n'), 1000, { maxLineBytes: 10_000 });
    expect(events.map((e) => e.counter)).toEqual([1, 2, 3]);
    expect(events[1].stdout).toMatch(/over 10000 bytes/);
  });
});
