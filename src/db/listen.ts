import pg from 'pg';
import { backoffMs, SLOW } from '../backoff.js';
import { log } from '../log.js';

/**
 * A LISTEN connection that stays up: one pg client LISTENing on `channels`, reconnecting
 * with backoff after an error, an end, or a ping unanswered for PING_TIMEOUT_MS (a half-open
 * socket hears nothing and says nothing). It says when it is live (after LISTEN: a
 * notification committed before then was never heard, so the caller catches up then) and
 * when it is lost. The web's cache changes and the dispatcher's wake-ups both listen here.
 */
const PING_EVERY_MS = 5_000;
const PING_TIMEOUT_MS = 2_000;

export interface ListenHandlers {
  notification(m: pg.Notification): void;
  /** LISTEN is in place; the client is free for a query meanwhile. */
  live?(client: pg.Client): Promise<void> | void;
  /** Notifications may go unheard from now until the next live(). */
  lost?(): void;
}

export function listen(databaseUrl: string, name: string, channels: string[], handlers: ListenHandlers): { close(): Promise<void> } {
  let client: pg.Client | null = null;
  let closed = false;
  let failures = 0;
  let pingTimer: NodeJS.Timeout | undefined;

  const drop = (c: pg.Client, why: unknown) => {
    if (client !== c) return;
    client = null;
    clearInterval(pingTimer);
    handlers.lost?.();
    c.end().catch(() => {});
    if (closed) return;
    log.warn(`${name}: LISTEN connection lost`, { err: why });
    retry();
  };

  const connect = async () => {
    if (closed) return;
    const c = new pg.Client({ connectionString: databaseUrl, application_name: name });
    c.on('notification', handlers.notification);
    c.on('error', (err) => drop(c, err));
    c.on('end', () => drop(c, 'connection ended'));
    try {
      await c.connect();
      for (const ch of channels) await c.query(`LISTEN "${ch}"`);
      if (closed) { await c.end(); return; }
      client = c;
      failures = 0;
      pingTimer = setInterval(() => ping(c), PING_EVERY_MS).unref();
      await handlers.live?.(c);
    } catch (err) {
      if (client === c) return drop(c, err);
      c.end().catch(() => {});
      if (closed) return;
      log.warn(`${name}: cannot LISTEN`, { err });
      retry();
    }
  };

  const ping = (c: pg.Client) => {
    const timer = setTimeout(() => drop(c, `ping unanswered after ${PING_TIMEOUT_MS} ms`), PING_TIMEOUT_MS);
    c.query('SELECT 1').then(() => clearTimeout(timer), (err) => { clearTimeout(timer); drop(c, err); });
  };

  const retry = () => {
    setTimeout(() => void connect(), backoffMs(++failures, SLOW)).unref();
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
