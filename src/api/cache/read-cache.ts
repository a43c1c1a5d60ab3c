import type pg from 'pg';
import { log } from '../../log.js';
import { metrics } from '../../metrics.js';
import { CHANGES_CHANNEL, listenForChanges } from './change-listener.js';
import { GenerationStore } from './generation-store.js';
import { GRANT_TABLES, type HeldRole } from '../access.js';

/**
 * Tables kept by triggers from another (migrations 0600, 0710, 1000, 1400): they change only when
 * it does, whose change trigger reports it, so a page that read one depends on that table.
 */
export const DERIVED_TABLES: Record<string, string> = {
  unified_job_counts: 'unified_jobs', unified_job_names: 'unified_jobs', unified_job_descriptions: 'unified_jobs',
  unified_job_finished_counts: 'unified_jobs',
};

/** Tables migration 0400 leaves unwatched: no cached page or lookup reads them, or they are derived. */
export const UNWATCHED_TABLES = ['schema_migrations', 'dispatcher_tasks', 'dead_letters', 'job_events',
  'project_update_events', 'inventory_update_events', 'ad_hoc_command_events', 'system_job_events',
  ...Object.keys(DERIVED_TABLES)];

/** What credential lookups read (auth.ts). */
export const AUTH_TABLES = ['api_tokens', 'api_sessions', 'users'];
/**
 * Tables every answer depends on: the caller's grants (loadGrants reads the roles, which
 * also make organization and team membership). A change to one empties the pages store.
 */
const GRANT_CHANGES = new Set(GRANT_TABLES);

const AUTH_MAX_BYTES = 4 * 1024 * 1024;
/** A lookup's row counted at its rough size in memory. */
const AUTH_ENTRY_BYTES = 512;

export type CredentialRow = Record<string, unknown> | undefined;

/** NOTIFY payload of a local write's barrier (see settle()). */
const BARRIER = 'barrier';
/** A barrier not heard back within this is taken as changes possibly unheard: everything is forgotten. */
const BARRIER_TIMEOUT_MS = 2_000;

const changeDelay = metrics.histogram('api_read_cache_change_delay_seconds',
  'From the start of a statement that changed a table the API reads to this web process hearing of it (an upper bound of the read cache staleness window).',
  [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]);
const changesHeard = metrics.counter('api_read_cache_changes_total', 'Changes to tables the API reads heard by this web process (each retires the cached answers read from that table).');

/**
 * The web process's read cache: serialized resource pages and details (`pages`, keyed by
 * user and URL, see cached-read.ts) and credential lookups (`auth`, keyed by token or
 * session hash, see auth.ts). A 25-job page costs ~2 ms of web CPU and three queries to
 * build, and 0.05-0.08 ms of web CPU to send from here (loadtest:api, 57 KB page).
 *
 * Each answer is kept with the tables its queries read, and a change retires the answers
 * read from its table only (generation-store.ts): a job finishing retires job pages, not
 * host pages. A change to roles empties the pages store (every answer follows the caller's
 * grants).
 *
 * What it may serve: never older than a change this process made (an unsafe request's
 * reply waits until this process has heard its changes, see settle()) nor than a change
 * made elsewhere once its NOTIFY has arrived (migrations 0400, 0401). In between is the
 * staleness window for other processes' writes, measured as api_read_cache_change_delay_seconds
 * (figures in docs/benchmarks.md ## API). While the LISTEN connection is down, or when a
 * table lacks the trigger, nothing is kept.
 *
 * PLAYSTREAM_API_CACHE_MB (config.apiCacheMb, default 64) bounds the pages store; 0 turns it
 * off. The lookups store (credentials, and each user's grants: the rows every request reads
 * before anything else, a few hundred bytes a user) has its own 4 MB and stays on: with it
 * a page costs one query.
 */
export class ReadCache {
  readonly pages: GenerationStore<Buffer>;
  readonly auth: GenerationStore<CredentialRow | HeldRole[]>;
  /** Tables without the change trigger (beyond UNWATCHED_TABLES) at the last connect: the cache stays off. */
  unwatched: string[] = [];
  #listener?: { close(): Promise<void> };
  #barriers = new Map<string, () => void>();
  #barrierSeq = 0;

  constructor(pageBytes: number) {
    this.pages = new GenerationStore<Buffer>(pageBytes, (b) => b.length);
    this.auth = new GenerationStore<CredentialRow | HeldRole[]>(AUTH_MAX_BYTES, () => AUTH_ENTRY_BYTES);
  }

  get live(): boolean { return this.pages.enabled; }

  /** A change committed elsewhere (or here) to `table`. */
  tableChanged(table: string, statementStartMs?: number): void {
    changesHeard.inc();
    if (statementStartMs !== undefined) changeDelay.observe(Math.max(0, performance.timeOrigin + performance.now() - statementStartMs) / 1000);
    if (GRANT_CHANGES.has(table)) this.pages.clear();
    else this.pages.changed(table);
    this.auth.changed(table);
  }

  /**
   * An unsafe request of this process ended (its transactions committed or rolled back):
   * resolves once every change it committed has been heard, so the caller's next read
   * cannot be served from before it. Postgres delivers notifications in commit order, so a
   * NOTIFY sent now comes back after those of the request's transactions. Not heard back
   * in time (or the listener down), nothing is kept from before.
   */
  async settle(db: { query(text: string, values: unknown[]): Promise<unknown> }): Promise<void> {
    if (!this.pages.enabled && !this.auth.enabled) return;
    const token = `${process.pid}-${++this.#barrierSeq}`;
    let timer: NodeJS.Timeout | undefined;
    const heard = new Promise<boolean>((resolve) => {
      this.#barriers.set(token, () => resolve(true));
      timer = setTimeout(() => resolve(false), BARRIER_TIMEOUT_MS);
    });
    try {
      await db.query('SELECT pg_notify($1, $2)', [CHANGES_CHANNEL, `${BARRIER} ${token}`]);
      if (!(await heard)) this.#forgetAll();
    } catch {
      this.#forgetAll();
    } finally {
      clearTimeout(timer);
      this.#barriers.delete(token);
    }
  }

  #forgetAll(): void {
    this.pages.clear();
    this.auth.clear();
  }

  #heard(table: string, arg: string | undefined): void {
    if (table === BARRIER) this.#barriers.get(arg ?? '')?.();
    else this.tableChanged(table, arg ? Number(arg) * 1000 : undefined);
  }

  /** Starts listening; resolves once the cache is live or known to be off. */
  start(databaseUrl: string): Promise<void> {
    return new Promise((resolve) => {
      this.#listener = listenForChanges(databaseUrl, {
        change: (table, arg) => this.#heard(table, arg),
        live: async (client) => {
          this.unwatched = await tablesWithoutTrigger(client);
          if (this.unwatched.length) {
            log.warn('API cache off: tables without the change trigger (migration 0400)', { tables: this.unwatched.join(',') });
          } else {
            this.pages.enable();
            this.auth.enable();
          }
          resolve();
        },
        lost: () => {
          this.pages.disable();
          this.auth.disable();
        },
      });
      // Serving uncached is correct: do not hold the web process back if Postgres is slow to answer.
      setTimeout(resolve, 5_000).unref();
    });
  }

  async close(): Promise<void> {
    await this.#listener?.close();
    this.pages.disable();
    this.auth.disable();
  }
}

async function tablesWithoutTrigger(client: pg.Client): Promise<string[]> {
  const { rows } = await client.query<{ relname: string }>(
    `SELECT c.relname FROM pg_class c
      WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
        AND c.relname <> ALL($1::text[])
        AND NOT EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = c.oid AND g.tgname = 'api_cache_changes')
      ORDER BY 1`, [UNWATCHED_TABLES]);
  return rows.map((r) => r.relname);
}
