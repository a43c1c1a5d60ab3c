import pg from 'pg';
import { log } from '../../log.js';

/**
 * The LISTEN connection behind the web process's caches: one pg client LISTENing on
 * `playstream_api_changes` (migrations 0400, 0401: payload `<table> <statement start, epoch
 * seconds>`), reporting each changed table. A cache may
 * trust what it holds only while this connection is live, so the listener says when it
 * goes live (after LISTEN: changes committed before then were never heard) and when it is
 * lost (error, end, or a ping unanswered for PING_TIMEOUT_MS: a half-open socket hears
 * nothing and says nothing). It then reconnects with backoff and jitter.
 */
export const CHANGES_CHANNEL = 'playstream_api_changes';

/** A dead connection is noticed within PING_EVERY_MS + PING_TIMEOUT_MS (7 s). */
const PING_EVERY_MS = 5_000;
const PING_TIMEOUT_MS = 2_000;

export interface ChangeHandlers {
  /**
   * A notification: `<table> <statement start, epoch seconds>` when a table changed
   * (committed), or another kind (a local write's barrier, read-cache.ts) and its argument.
   */
  change(table: string, arg: string | undefined): void;
  /** LISTEN is in place: changes committed from now on will be heard (the client is free for a check). */
  live(client: pg.Client): Promise<void>;
  /** Changes may go unheard from now until the next live(). */
  lost(): void;
}

export function listenForChanges(databaseUrl: string, handlers: ChangeHandlers): { close(): Promise<void> } {
  let client: pg.Client | null = null;
  let closed = false;
  let failures = 0;
  let pingTimer: NodeJS.Timeout | undefined;

  const drop = (c: pg.Client, why: unknown) => {
    if (client !== c) return;
    client = null;
    clearInterval(pingTimer);
    handlers.lost();
    c.end().catch(() => {});
    if (closed) return;
    log.warn('API cache: change listener lost', { err: why });
    retry();
  };

  const connect = async () => {
    if (closed) return;
    const c = new pg.Client({ connectionString: databaseUrl, application_name: 'web-api-changes' });
    c.on('notification', (m) => {
      const [table, arg] = (m.payload ?? '').split(' ');
      handlers.change(table, arg);
    });
    c.on('error', (err) => drop(c, err));
    c.on('end', () => drop(c, 'connection ended'));
    try {
      await c.connect();
      await c.query(`LISTEN ${CHANGES_CHANNEL}`);
      if (closed) { await c.end(); return; }
      client = c;
      failures = 0;
      pingTimer = setInterval(() => ping(c), PING_EVERY_MS).unref();
      await handlers.live(c);
    } catch (err) {
      if (client === c) return drop(c, err);
      c.end().catch(() => {});
      if (closed) return;
      log.warn('API cache: change listener cannot connect', { err });
      retry();
    }
  };

  const ping = (c: pg.Client) => {
    const timer = setTimeout(() => drop(c, `ping unanswered after ${PING_TIMEOUT_MS} ms`), PING_TIMEOUT_MS);
    c.query('SELECT 1').then(() => clearTimeout(timer), (err) => { clearTimeout(timer); drop(c, err); });
  };

  const retry = () => {
    failures++;
    const ms = Math.min(30_000, 250 * 2 ** Math.min(failures, 7));
    setTimeout(() => void connect(), ms + Math.random() * ms * 0.2).unref();
  };

  void connect();
  return {
    close: async () => {
      closed = true;
      const c = client;
      if (c) drop(c, 'closed');
    },
  };
}
