import type pg from 'pg';
import { log } from '../../log.js';
import { metrics } from '../../metrics.js';
import { listenForChanges } from './change-listener.js';
import { GenerationStore } from './generation-store.js';

/** Tables migration 0400 leaves unwatched: no cached page or lookup reads them. */
export const UNWATCHED_TABLES = ['schema_migrations', 'dispatcher_tasks', 'dead_letters', 'job_events',
  'project_update_events', 'inventory_update_events', 'ad_hoc_command_events', 'system_job_events',
  // Changes exactly when unified_jobs does (migration 0600), whose trigger reports it.
  'unified_job_counts'];

/** What credential lookups read. */
const AUTH_TABLES = new Set(['api_tokens', 'api_sessions', 'users']);
/**
 * Changes that leave pages valid: sessions are read by lookups only, and tokens also by
 * the token lists, which are not cached (resources/tokens.ts) because `last_used` is
 * written once a minute per token in use and would otherwise empty every page as often.
 */
const AUTH_ONLY_TABLES = new Set(['api_tokens', 'api_sessions']);

const AUTH_MAX_BYTES = 4 * 1024 * 1024;
/** A lookup's row counted at its rough size in memory. */
const AUTH_ENTRY_BYTES = 512;

export type CredentialRow = Record<string, unknown> | undefined;

const changeDelay = metrics.histogram('api_read_cache_change_delay_seconds',
  'From the start of a statement that changed a table the API reads to this web process hearing of it (an upper bound of the read cache staleness window).',
  [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1]);
const changesHeard = metrics.counter('api_read_cache_changes_total', 'Changes to tables the API reads heard by this web process (each empties the read cache).');

/**
 * The web process's read cache: serialized resource pages and details (`pages`, keyed by
 * user and URL, see cached-read.ts) and credential lookups (`auth`, keyed by token or
 * session hash, see auth.ts). A 25-job page costs ~2 ms of web CPU and three queries to
 * build, and 0.05-0.08 ms of web CPU to send from here (loadtest:api, 57 KB page).
 *
 * What it may serve: never older than a change this process made (every unsafe request
 * empties both stores when it ends, before its reply is written) nor than a change made
 * elsewhere once its NOTIFY has arrived (migrations 0400, 0401). In between is the staleness
 * window for other processes' writes, measured as api_read_cache_change_delay_seconds
 * (figures in docs/benchmarks.md ## API). While the LISTEN connection is down, or when a
 * table lacks the trigger, nothing is kept.
 *
 * PLAYSTREAM_API_CACHE_MB (config.apiCacheMb, default 64) bounds the pages store; 0 turns both stores off.
 */
export class ReadCache {
  readonly pages: GenerationStore<Buffer>;
  readonly auth: GenerationStore<CredentialRow>;
  /** Tables without the change trigger (beyond UNWATCHED_TABLES) at the last connect: the cache stays off. */
  unwatched: string[] = [];
  #listener?: { close(): Promise<void> };

  constructor(pageBytes: number) {
    this.pages = new GenerationStore<Buffer>(pageBytes, (b) => b.length);
    this.auth = new GenerationStore<CredentialRow>(pageBytes > 0 ? AUTH_MAX_BYTES : 0, () => AUTH_ENTRY_BYTES);
  }

  get live(): boolean { return this.pages.enabled; }

  /** A change committed elsewhere (or here, outside a request) to `table`. */
  tableChanged(table: string, statementStartMs?: number): void {
    changesHeard.inc();
    if (statementStartMs !== undefined) changeDelay.observe(Math.max(0, performance.timeOrigin + performance.now() - statementStartMs) / 1000);
    if (!AUTH_ONLY_TABLES.has(table)) this.pages.invalidate();
    if (AUTH_TABLES.has(table)) this.auth.invalidate();
  }

  /** An unsafe request of this process ended (its transaction, if any, committed or rolled back). */
  localWrite(): void {
    this.pages.invalidate();
    this.auth.invalidate();
  }

  /** Starts listening; resolves once the cache is live or known to be off. */
  start(databaseUrl: string): Promise<void> {
    return new Promise((resolve) => {
      this.#listener = listenForChanges(databaseUrl, {
        change: (table, statementStartMs) => this.tableChanged(table, statementStartMs),
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
