import crypto from 'node:crypto';
import type { EventPusher } from './event-push.js';

/**
 * Events the scheduler writes itself, in the runner's intake format, for work that is not a
 * playbook run (project updates, inventory updates, system jobs): counters from 1, 0-based
 * end-exclusive line numbers, `created` in UTC without a zone, parent_uuid to the play.
 */
export class SyntheticEvents {
  readonly #pusher: EventPusher;
  readonly #ident = crypto.randomUUID();
  #counter = 0;
  #line = 0;
  readonly playbookUuid = crypto.randomUUID();
  constructor(pusher: EventPusher) { this.#pusher = pusher; }

  emit(event: string, stdout: string, eventData: Record<string, unknown> = {}, parent = ''): string {
    const uuid = crypto.randomUUID();
    const lines = stdout ? stdout.split('\n').length : 0;
    this.#pusher.pushEvent({
      uuid, counter: ++this.#counter, stdout: stdout.replace(/\n/g, '\r\n'), start_line: this.#line, end_line: this.#line + lines,
      runner_ident: this.#ident, event, pid: process.pid, created: new Date().toISOString().replace('Z', ''),
      parent_uuid: parent, verbosity: 0, event_data: { ...eventData, uuid },
    });
    this.#line += lines;
    return uuid;
  }
}
