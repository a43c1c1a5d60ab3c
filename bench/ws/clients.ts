import WebSocket from 'ws';

/**
 * A client process: `count` connections, connection i watching job jobs[i % jobs.length]
 * (and `jobs-status_changed` when asked). Per message it reads only `created` and
 * `counter` by string search (a full JSON.parse of every ≈1 KB event would make the
 * clients, which share the two cores with the server, the thing being measured).
 * Reports counts and `delivered - created` samples to the parent over IPC.
 */
export interface ClientSpec { url: string; count: number; jobs: number[]; statusChanged: boolean; batch: boolean; auth?: string }
export interface ClientReport {
  received: number; statusChanges: number; outOfOrder: number;
  /** delivered - created (runner to client) and delivered - modified (database commit to client), ms. */
  samples: number[]; fromCommit: number[];
}

const SAMPLE_EVERY = 8;

function field(s: string, name: string, from = 0): string | undefined {
  const i = s.indexOf(`"${name}":`, from);
  if (i < 0) return undefined;
  let j = i + name.length + 3;
  if (s[j] === '"') { const end = s.indexOf('"', j + 1); return s.slice(j + 1, end); }
  let end = j;
  while (end < s.length && s[end] !== ',' && s[end] !== '}') end++;
  return s.slice(j, end);
}

export async function runClients(spec: ClientSpec): Promise<void> {
  const report: ClientReport = { received: 0, statusChanges: 0, samples: [], fromCommit: [], outOfOrder: 0 };
  let seen = 0;
  const sockets: WebSocket[] = [];
  const opened: Promise<void>[] = [];
  for (let i = 0; i < spec.count; i++) {
    const job = spec.jobs[i % spec.jobs.length];
    const ws = new WebSocket(spec.url, { headers: spec.auth ? { authorization: spec.auth } : {}, perMessageDeflate: false });
    sockets.push(ws);
    let last = 0;
    const onEvent = (s: string, from: number) => {
      report.received++;
      const counter = Number(field(s, 'counter', from));
      if (counter < last) report.outOfOrder++;
      last = counter;
      if (++seen % SAMPLE_EVERY === 0) {
        const created = field(s, 'created', from)!;
        const now = Date.now();
        report.samples.push(now - Date.parse(created.endsWith('Z') ? created : `${created}Z`));
        const modified = field(s, 'modified', from);
        if (modified) report.fromCommit.push(now - Date.parse(modified.endsWith('Z') ? modified : `${modified}Z`));
      }
    };
    opened.push(new Promise((resolve, reject) => {
      ws.on('message', (data: Buffer) => {
        const s = data.toString('utf8');
        if (s.startsWith('{"accept"')) {
          ws.send(JSON.stringify({ groups: { job_events: [job], ...(spec.statusChanged ? { jobs: ['status_changed'] } : {}) }, batch: spec.batch }));
          return;
        }
        if (s.startsWith('{"groups_current"')) return resolve();
        if (s[0] === '[') {
          // Batched frame: events are the objects that carry "counter".
          for (let at = s.indexOf('"counter":'); at >= 0; at = s.indexOf('"counter":', at + 1)) {
            const start = s.lastIndexOf('{"id":', at);
            onEvent(s, start);
          }
          return;
        }
        if (s.includes('"status_changed"') || s.includes('"unified_job_id"')) { report.statusChanges++; return; }
        if (s.includes('"counter":')) onEvent(s, 0);
      });
      ws.once('error', reject);
    }));
  }
  await Promise.all(opened);
  process.send!({ type: 'ready' });
  process.on('message', (m: { type: string }) => {
    if (m.type === 'report') {
      process.send!({ type: 'report', report });
      report.received = 0; report.statusChanges = 0; report.samples = []; report.fromCommit = []; report.outOfOrder = 0;
    }
    if (m.type === 'exit') { for (const ws of sockets) ws.terminate(); process.exit(0); }
  });
}
