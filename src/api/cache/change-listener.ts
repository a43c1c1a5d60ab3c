import type pg from 'pg';
import { listen } from '../../db/listen.js';

/**
 * The LISTEN connection behind the web process's caches: one pg client LISTENing on
 * `playstream_api_changes` (migrations 0400, 0401: payload `<table> <statement start, epoch
 * seconds>`), reporting each changed table. A cache may
 * trust what it holds only while this connection is live, so the listener says when it
 * goes live (after LISTEN: changes committed before then were never heard) and when it is
 * lost (db/listen.ts: error, end, or a ping unanswered: a dead connection is noticed within
 * 7 s). It then reconnects with backoff and jitter.
 */
export const CHANGES_CHANNEL = 'playstream_api_changes';

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
  return listen(databaseUrl, 'web-api-changes', [CHANGES_CHANNEL], {
    notification: (m) => {
      const [table, arg] = (m.payload ?? '').split(' ');
      handlers.change(table, arg);
    },
    live: (c) => handlers.live(c),
    lost: () => handlers.lost(),
  });
}
