import { monitorEventLoopDelay } from 'node:perf_hooks';
import WebSocket from 'ws';

/**
 * A client process: `count` connections, connection i watching job jobs[i % jobs.length]
 * (and `jobs-status_changed` when asked). Per message it reads only `counter`, and for
 * sampled counters `created` and `modified`, by byte search (a full JSON.parse of every
 * ≈1 KB event would make the clients, which share the two cores with the server, the
 * thing being measured). Reports counts and latency samples to the parent over IPC.
 */
export interface ClientSpec { url: string; count: number; jobs: number[]; statusChanged: boolean; batch: boolean; auth?: string }
export interface ClientReport {
  received: number; statusChanges: number; outOfOrder: number;
  /** delivered - created (runner to client) and delivered - modified (receiver's flush to client), ms. */
  samples: number[]; fromCommit: number[];
  /** [job, counter, delivered epoch ms] of sampled events, matched by the parent against the bus tap. */
  arrivals: number[];
  /**
   * This process's own state since all its sockets subscribed (not reset between reports):
   * event-loop delay p99 and max (ms), CPU seconds and messages received. A message waits in
   * the socket while the loop is busy, so the clients' delay is part of their latency
   * samples: it tells the clients' share of a tail from the server's.
   */
  loop?: { p99Ms: number; maxMs: number; cpuS: number; messages: number };
}

/** Events whose counter is a multiple of this are timed (by counter, so the bus tap can time the same ones). */
export const SAMPLE_EVERY = 8;

const COUNTER = Buffer.from('"counter":');
const CREATED = Buffer.from('"created":"');
const MODIFIED = Buffer.from('"modified":"');
const UNIFIED_JOB_ID = Buffer.from('"unified_job_id"');
const OBJECT_START = Buffer.from('{"id":');

/** The unsigned integer at buf[i...]. */
function intAt(buf: Buffer, i: number): number {
  let n = 0;
  for (let c = buf[i]; c >= 48 && c <= 57; c = buf[++i]) n = n * 10 + (c - 48);
  return n;
}

/** The string value after `key` (which ends with the opening quote), as epoch ms (zone-less times are UTC). */
function timeAt(buf: Buffer, key: Buffer, from: number): number {
  const i = buf.indexOf(key, from);
  if (i < 0) return NaN;
  const start = i + key.length;
  const end = buf.indexOf(34, start);
  const s = buf.toString('latin1', start, end);
  return Date.parse(s.endsWith('Z') || /[+-]\d\d:\d\d$/.test(s) ? s : `${s}Z`);
}

/**
 * Frames are handled as bytes: find `"counter":`, read the integer, and only for sampled
 * counters decode `created` and `modified`. No toString of each ≈1 KB frame, no UTF-8
 * validation (skipUTF8Validation): the clients share the two cores with the server, and
 * every cycle they spend is one the server under test does not get.
 */
export async function runClients(spec: ClientSpec): Promise<void> {
  const report: ClientReport = { received: 0, statusChanges: 0, samples: [], fromCommit: [], outOfOrder: 0, arrivals: [] };
  const sockets: WebSocket[] = [];
  const opened: Promise<void>[] = [];
  for (let i = 0; i < spec.count; i++) opened.push(connect(spec.jobs[i % spec.jobs.length], 1));

  /**
   * One client. A socket that closes or fails before its subscription is confirmed is
   * opened again (up to 5 tries, each counted on stderr): one (b) run hung with 999 of
   * 1,000 sockets established and the last one gone without an error, so the harness
   * waited forever on it.
   */
  function connect(job: number, attempt: number): Promise<void> {
    const ws = new WebSocket(spec.url, { headers: spec.auth ? { authorization: spec.auth } : {}, perMessageDeflate: false,
      skipUTF8Validation: true });
    sockets.push(ws);
    let last = 0;
    let subscribed = false;
    /** `from`: where this event's object starts (its `created` and `modified` come before `counter`). */
    const onEvent = (buf: Buffer, from: number, at: number, now: number) => {
      report.received++;
      const counter = intAt(buf, at + COUNTER.length);
      if (counter < last) report.outOfOrder++;
      last = counter;
      if (counter % SAMPLE_EVERY === 0) {
        report.arrivals.push(job, counter, now);
        report.samples.push(now - timeAt(buf, CREATED, from));
        const modified = timeAt(buf, MODIFIED, from);
        if (!Number.isNaN(modified)) report.fromCommit.push(now - modified);
      }
    };
    return new Promise((resolve, reject) => {
      const retry = (why: string) => {
        if (subscribed) return;
        subscribed = true;
        clearTimeout(timer);
        ws.terminate();
        if (attempt >= 5) return reject(new Error(`client for job ${job} failed 5 times: ${why}`));
        process.stderr.write(`client for job ${job}: ${why} before subscribing; reconnecting (attempt ${attempt + 1})\n`);
        setTimeout(() => connect(job, attempt + 1).then(resolve, reject), 200 * attempt);
      };
      const timer = setTimeout(() => retry('no subscription in 60 s'), 60_000);
      ws.on('message', (data: Buffer) => {
        if (!subscribed) {
          const s = data.toString('utf8');
          if (s.startsWith('{"accept"')) {
            ws.send(JSON.stringify({ groups: { job_events: [job], ...(spec.statusChanged ? { jobs: ['status_changed'] } : {}) }, batch: spec.batch }));
          } else if (s.startsWith('{"groups_current"')) { subscribed = true; clearTimeout(timer); resolve(); }
          return;
        }
        const now = Date.now();
        if (data[0] === 91 /* [ */) {
          for (let at = data.indexOf(COUNTER); at >= 0; at = data.indexOf(COUNTER, at + 1)) onEvent(data, data.lastIndexOf(OBJECT_START, at), at, now);
          return;
        }
        if (data.indexOf(UNIFIED_JOB_ID) >= 0) { report.statusChanges++; return; }
        const at = data.indexOf(COUNTER);
        if (at >= 0) onEvent(data, 0, at, now);
      });
      ws.on('error', (err) => retry(`error ${err.message}`));
      ws.on('close', (code) => retry(`closed (${code})`));
    });
  }
  await Promise.all(opened);
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const cpu0 = process.cpuUsage();
  let messages = 0;
  process.send!({ type: 'ready' });
  // Exit cleanly on SIGTERM so `node --cpu-prof` writes this process's profile.
  process.once('SIGTERM', () => process.exit(0));
  process.on('message', (m: { type: string }) => {
    if (m.type === 'report') {
      messages += report.received;
      const cpu = process.cpuUsage(cpu0);
      report.loop = { p99Ms: delay.percentile(99) / 1e6, maxMs: delay.max / 1e6, cpuS: (cpu.user + cpu.system) / 1e6, messages };
      process.send!({ type: 'report', report });
      report.received = 0; report.statusChanges = 0; report.samples = []; report.fromCommit = []; report.outOfOrder = 0; report.arrivals = [];
    }
    if (m.type === 'exit') { for (const ws of sockets) ws.terminate(); process.exit(0); }
  });
}
