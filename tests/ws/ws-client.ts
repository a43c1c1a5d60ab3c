import WebSocket from 'ws';
import type { Pool } from '../../src/db/pool.js';
import { hashPassword } from '../../src/security/passwords.js';

/**
 * A test websocket client that records every message (batched frames are flattened) and
 * lets a test wait for the next one matching a predicate.
 */
export type Msg = Record<string, unknown>;

export class TestClient {
  readonly messages: Msg[] = [];
  closeCode: number | undefined;
  #waiters: { pred: (m: Msg) => boolean; resolve: (m: Msg) => void; from: number }[] = [];
  #cursor = 0;

  /** slim: drop each message's stdout (keeps 100,000-event tests small). */
  constructor(readonly ws: WebSocket, readonly slim = false) {
    ws.on('message', (data: Buffer) => {
      const parsed: unknown = JSON.parse(data.toString('utf8'));
      for (const m of Array.isArray(parsed) ? parsed as Msg[] : [parsed as Msg]) {
        if (slim) delete m.stdout;
        this.messages.push(m);
      }
      this.#check();
    });
    ws.on('close', (code) => { this.closeCode = code; this.#check(); });
  }

  static async connect(url: string, headers: Record<string, string>, slim = false): Promise<TestClient> {
    const ws = new WebSocket(url, { headers });
    const client = new TestClient(ws, slim);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    });
    return client;
  }

  send(message: unknown): void { this.ws.send(JSON.stringify(message)); }

  /** The next message (after those already consumed by next()) matching pred. */
  next(pred: (m: Msg) => boolean = () => true, timeoutMs = 10_000): Promise<Msg> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching message in ${timeoutMs} ms; last: ${JSON.stringify(this.messages.slice(-3))}; socket state ${this.ws.readyState}, close code ${this.closeCode}`)), timeoutMs);
      this.#waiters.push({ pred, from: this.#cursor, resolve: (m) => { clearTimeout(timer); resolve(m); } });
      this.#check();
    });
  }

  /** Waits until pred holds (checked on every message and close). */
  async until(pred: () => boolean, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error('condition not met in time');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  close(): void { this.ws.terminate(); }

  /** Counters of the events received for a group name (`job_events`), in arrival order. */
  counters(groupName = 'job_events'): number[] {
    return this.messages.filter((m) => m.group_name === groupName).map((m) => m.counter as number);
  }

  /** Subscribes and waits for the groups reply. */
  async subscribe(message: Msg): Promise<Msg> {
    await this.next((m) => m.accept === true);
    this.send(message);
    return this.next((m) => 'groups_current' in m);
  }

  #check(): void {
    for (const w of [...this.#waiters]) {
      for (let i = w.from; i < this.messages.length; i++) {
        if (w.pred(this.messages[i])) {
          this.#waiters.splice(this.#waiters.indexOf(w), 1);
          this.#cursor = i + 1;
          w.resolve(this.messages[i]);
          break;
        }
      }
    }
  }
}

export function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

export async function createUser(pool: Pool, username: string, password: string, superuser = false): Promise<number> {
  const { rows } = await pool.query<{ id: number }>(
    'INSERT INTO users (username, email, password, is_superuser) VALUES ($1, $2, $3, $4) RETURNING id',
    [username, `${username}@example.com`, await hashPassword(password), superuser]);
  return rows[0].id;
}

export async function createJob(pool: Pool, createdBy: number | null): Promise<{ id: number; created: Date }> {
  const { rows } = await pool.query<{ id: number; created: Date }>(
    `INSERT INTO unified_jobs (kind, name, status, created_by_id) VALUES ('job', 'ws test', 'running', $1) RETURNING id, created`,
    [createdBy]);
  return rows[0];
}

/** A job event message as the receiver publishes it (≈ 1 KB with the default padding). */
export function eventMessage(jobId: number, counter: number, pad = 900): Msg {
  return {
    id: counter, type: 'job_event', job: jobId, counter, event: 'runner_on_ok', group_name: 'job_events',
    created: new Date().toISOString(), uuid: `u-${counter}`, stdout: `ok: [host-${counter}] ${'x'.repeat(pad)}`,
    start_line: counter, end_line: counter + 1, event_data: {},
  };
}
