import type { Browser } from 'playwright-core';
import type { Pool } from '../../../src/db/pool.js';
import { seedFirstStart } from '../../../src/db/seed.js';
import { useTestEnv } from '../../support/harness.js';
import { startTestWeb } from '../../support/web.js';
import { launchBrowser } from './browser.js';

/**
 * A finished job with a large stored output, written straight into the event table with
 * one generate_series INSERT (~2 s for 200,000 rows) rather than through the pipeline:
 * the console's reading of stored output is under test here, not ingest.
 *
 * Layout, like a real playbook: counter 1 playbook_on_start (no lines), 2 the play (2
 * lines), then groups of 100 events — a task start (2 lines) and 99 host results (1 green
 * line each, `ok: [host-N] line L`) — then playbook_on_stats closing the output with
 * `PLAY RECAP` lines up to exactly `lines`.
 */
export interface StoredJob { id: number; lines: number; events: number }

export async function insertStoredJob(pool: Pool, opts: { lines: number; templateId?: number | null; name?: string }): Promise<StoredJob> {
  const groups = Math.floor((opts.lines - 2 - 4) / 101);
  const taskEvents = groups * 100;
  const recapStart = 2 + groups * 101;
  const recapLines = opts.lines - recapStart;
  const { rows: [job] } = await pool.query(
    `INSERT INTO unified_jobs (kind, name, status, started, finished, elapsed, playbook, unified_job_template_id, launch_type, created)
     VALUES ('job', $1, 'successful', now() - interval '5 minutes', now(), 300, 'big.yml', $2, 'manual', now()) RETURNING id, created::text AS created`,
    [opts.name ?? 'Big output', opts.templateId ?? null]);
  await pool.query('SELECT ensure_event_partitions($1)', [job.created]);
  await pool.query(`INSERT INTO job_events (created, modified, job_created, job_id, event, counter, uuid, stdout, start_line, end_line, play, task)
    VALUES ($1, $1, $1, $2, 'playbook_on_start', 1, 'pb', '', 0, 0, '', ''),
           ($1, $1, $1, $2, 'playbook_on_play_start', 2, 'play', E'\\r\\nPLAY [Big play] ****************', 0, 2, 'Big play', '')`,
  [job.created, job.id]);
  await pool.query(`
    INSERT INTO job_events (created, modified, job_created, job_id, event, counter, uuid, parent_uuid, stdout, start_line, end_line, play, task, host_name)
    SELECT $1, $1, $1, $2,
           CASE WHEN i % 100 = 0 THEN 'playbook_on_task_start' ELSE 'runner_on_ok' END,
           c, 'e' || c, 'play',
           CASE WHEN i % 100 = 0 THEN E'\\r\\nTASK [task ' || (i / 100) || '] ************************'
                ELSE E'\\u001b[0;32mok: [host-' || (i % 100) || '] line ' || (3 + (i / 100) * 101 + i % 100 + 1) || E'\\u001b[0m' END,
           2 + (i / 100) * 101 + CASE WHEN i % 100 = 0 THEN 0 ELSE i % 100 + 1 END,
           2 + (i / 100) * 101 + CASE WHEN i % 100 = 0 THEN 2 ELSE i % 100 + 2 END,
           'Big play', 'task ' || (i / 100), CASE WHEN i % 100 = 0 THEN '' ELSE 'host-' || (i % 100) END
      FROM generate_series(0, $3 - 1) AS i, LATERAL (SELECT i + 3 AS c) AS k`, [job.created, job.id, taskEvents]);
  const recap = ['', 'PLAY RECAP *********************************************']
    .concat(Array.from({ length: recapLines - 2 }, (_, k) => `\u001b[0;32mhost-${k}\u001b[0m : ok=${groups} changed=0 unreachable=0 failed=0`))
    .join('\r\n');
  const statsCounter = taskEvents + 3;
  await pool.query(`INSERT INTO job_events (created, modified, job_created, job_id, event, counter, uuid, stdout, start_line, end_line)
    VALUES ($1, $1, $1, $2, 'playbook_on_stats', $3, 'stats', $4, $5, $6)`, [job.created, job.id, statsCounter, recap, recapStart, opts.lines]);
  // As the receiver leaves a finished job: every announced event stored, processing done.
  await pool.query('UPDATE unified_jobs SET emitted_events = $2, event_processing_finished = true WHERE id = $1', [job.id, statsCounter]);
  return { id: Number(job.id), lines: opts.lines, events: statsCounter };
}

/** A seeded stack with one stored job of `lines` lines, its web server and Chromium: the output view's tests start here. */
export async function storedJobConsole(lines: number, adminPassword: string): Promise<{ base: string; browser: Browser; job: StoredJob }> {
  const env = await useTestEnv();
  await seedFirstStart(env.pool, { dataDir: env.dataDir, adminPassword });
  const job = await insertStoredJob(env.pool, { lines });
  const base = (await startTestWeb(env)).url;
  return { base, browser: await launchBrowser(), job };
}
