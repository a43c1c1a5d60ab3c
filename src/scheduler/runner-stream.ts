import crypto from 'node:crypto';
import { stripAnsi } from '../pipeline/stdout-stream.js';
import type { EventPusher } from './event-push.js';

/**
 * Reads ansible-runner's streaming worker protocol (`ansible-runner worker`, what AWX's
 * execution nodes speak; a recorded stream is ../shared/fixtures/runner-worker-stream.jsonl)
 * and hands every event to the EventPusher.
 *
 * Why the worker stream and not `ansible-runner run --json`: in `--json` mode the runner
 * prints the lines it read before Ansible's callback plugin started (warnings, `ERROR! the
 * playbook … could not be found`, syntax errors) as plain text while counting them as
 * events, and of several plain lines read together with an event only the last is printed:
 * the job then has counter gaps and never finishes processing. The worker sends every event
 * it counts as one JSON line, and writes no per-event files besides (cheaper for the runner;
 * bench/runner/event-source.ts measures both).
 *
 * The stream, line by line:
 *   {"status": "starting" | "running" | <final>, "job_explanation"?, "result_traceback"?, ...}
 *   {<event>, "counter": N, ...}                      N = 1, 2, 3, ...
 *   {"zipfile": N}<N bytes of zip in base64, no newline>{"eof": true}
 * Anything else (a stray line a Python library printed) becomes a `verbose` event with the
 * next counter, and later events move up by one counter and one line, so stdout shows it in
 * place and counters stay contiguous from 1.
 *
 * Memory is bounded: a line is kept only until it ends, and one longer than maxLineBytes is
 * replaced by a verbose event that says so (keeping its counter, read off the line's head).
 */
export const MAX_LINE_BYTES = 64 << 20;
const ERROR_LINES_KEPT = 40;
const COUNTER_AT_HEAD = /"counter":\s*(\d+)/;

export class WorkerStream {
  readonly #pusher: EventPusher;
  readonly #maxLine: number;
  #parts: string[] = [];
  #partLength = 0;
  #overflow = false;
  #skip = 0;
  /** Counters and lines added by stray-text events, added to every runner event after them. */
  #shift = 0;
  #lineShift = 0;
  #lastCounter = 0;
  #lastEndLine = 0;
  #errorBlock = false;
  /** The runner's last reported status, and what it explained about an error of its own. */
  status: string | null = null;
  explanation = '';
  traceback = '';
  /** The ansible-playbook command the runner reported starting. */
  command: string[] = [];
  /** Ansible's `ERROR! …` message and the lines after it (bounded), for job_explanation. */
  readonly errorLines: string[] = [];
  strayLines = 0;
  /** What the playbook's set_stats left for the jobs after it (playbook_on_stats' artifact_data; AWX's job artifacts). */
  artifacts: Record<string, unknown> | null = null;

  constructor(pusher: EventPusher, opts: { maxLineBytes?: number } = {}) {
    this.#pusher = pusher;
    this.#maxLine = opts.maxLineBytes ?? MAX_LINE_BYTES;
  }

  /** Feeds a stdout chunk (decoded UTF-8); complete lines become events and are flushed. */
  write(chunk: string): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.#skip > 0) {
        const n = Math.min(this.#skip, chunk.length - at);
        this.#skip -= n;
        at += n;
        continue;
      }
      const nl = chunk.indexOf('\n', at);
      if (nl < 0) { this.#keep(chunk.slice(at)); break; }
      if (this.#partLength || this.#overflow) {
        this.#keep(chunk.slice(at, nl));
        this.#endLine();
      } else {
        this.#line(chunk.slice(at, nl));
      }
      at = nl + 1;
    }
    this.#pusher.flush();
  }

  /** The stream ended: a last line without newline still counts. */
  end(): void {
    if (this.#partLength || this.#overflow) this.#endLine();
    this.#pusher.flush();
  }

  #keep(part: string): void {
    if (!part) return;
    if (this.#overflow) return;
    if (this.#partLength + part.length > this.#maxLine) {
      this.#overflow = true;
      // Keep only the head, where the counter is.
      const head = (this.#parts.join('') + part).slice(0, 4096);
      this.#parts = [head];
      this.#partLength = head.length;
      return;
    }
    this.#parts.push(part);
    this.#partLength += part.length;
  }

  #endLine(): void {
    const line = this.#parts.length === 1 ? this.#parts[0] : this.#parts.join('');
    const overflow = this.#overflow;
    this.#parts = [];
    this.#partLength = 0;
    this.#overflow = false;
    if (overflow) { this.#oversized(line); return; }
    this.#line(line);
  }

  #line(line: string): void {
    // The worker may follow the artifacts' base64 with `{"eof": true}` on the same line.
    const text = line.trim();
    if (!text) return;
    if (text[0] !== '{' || text[text.length - 1] !== '}') { this.#stray(text); return; }
    let obj: Record<string, unknown>;
    try {
      obj = JSON.parse(text) as Record<string, unknown>;
    } catch {
      this.#stray(text);
      return;
    }
    if (typeof obj !== 'object' || obj === null) { this.#stray(text); return; }
    if (typeof obj.counter === 'number') { this.#event(text, obj); return; }
    if (typeof obj.status === 'string') {
      this.status = obj.status;
      if (typeof obj.job_explanation === 'string' && obj.job_explanation) this.explanation = obj.job_explanation;
      if (typeof obj.result_traceback === 'string' && obj.result_traceback) this.traceback = obj.result_traceback;
      if (Array.isArray(obj.command)) this.command = obj.command.map(String);
      return;
    }
    // N is the zip's size in bytes; it follows as unwrapped base64.
    if (typeof obj.zipfile === 'number') { this.#skip = 4 * Math.ceil(Math.max(0, obj.zipfile) / 3); return; }
    if (obj.eof === true) return;
    this.#stray(text);
  }

  #event(text: string, e: Record<string, unknown>): void {
    let body = text;
    if (this.#shift) {
      e.counter = (e.counter as number) + this.#shift;
      if (typeof e.start_line === 'number') e.start_line += this.#lineShift;
      if (typeof e.end_line === 'number') e.end_line += this.#lineShift;
      body = JSON.stringify(e);
    }
    const counter = e.counter as number;
    if (counter > this.#lastCounter) this.#lastCounter = counter;
    if (typeof e.end_line === 'number' && e.end_line > this.#lastEndLine) this.#lastEndLine = e.end_line;
    if (e.event === 'verbose' && typeof e.stdout === 'string') this.#watchErrors(e.stdout);
    else if (e.event === 'playbook_on_stats') this.#keepArtifacts(e.event_data);
    this.#pusher.push(body, counter);
  }

  #keepArtifacts(eventData: unknown): void {
    const a = (eventData as { artifact_data?: unknown } | null)?.artifact_data;
    if (a && typeof a === 'object' && !Array.isArray(a) && Object.keys(a).length) this.artifacts = a as Record<string, unknown>;
  }

  /** Keeps Ansible's fatal `ERROR! …` message (it has no event of its own beyond verbose lines). */
  #watchErrors(stdout: string): void {
    const plain = stripAnsi(stdout);
    if (plain.startsWith('ERROR!')) { this.#errorBlock = true; this.errorLines.length = 0; }
    if (this.#errorBlock && this.errorLines.length < ERROR_LINES_KEPT) this.errorLines.push(plain);
  }

  #stray(text: string): void {
    this.strayLines++;
    this.#synthetic(text.replace(/\r$/, ''));
  }

  #oversized(head: string): void {
    const m = COUNTER_AT_HEAD.exec(head);
    const message = `[event output over ${this.#maxLine} bytes: not kept]`;
    if (!m) { this.#synthetic(message); return; }
    // The runner's own counter for it: keep it, so no gap opens.
    const counter = Number(m[1]) + this.#shift;
    if (counter > this.#lastCounter) this.#lastCounter = counter;
    this.#pusher.push(JSON.stringify(this.#verbose(counter, message, this.#lastEndLine)), counter);
    this.#lastEndLine += 1;
  }

  #synthetic(stdout: string): void {
    this.#shift++;
    this.#lineShift++;
    const counter = ++this.#lastCounter;
    this.#watchErrors(stdout);
    this.#pusher.push(JSON.stringify(this.#verbose(counter, stdout, this.#lastEndLine)), counter);
    this.#lastEndLine += 1;
  }

  #verbose(counter: number, stdout: string, line: number): Record<string, unknown> {
    const uuid = crypto.randomUUID();
    return { event: 'verbose', uuid, counter, stdout, start_line: line, end_line: line + 1, verbosity: 0,
      created: new Date().toISOString().slice(0, -1), event_data: { uuid } };
  }
}

/** Ansible's fatal error as a one-paragraph job_explanation (AWX shows it with the failed job). */
export function errorExplanation(lines: readonly string[]): string {
  const text = lines.join('\n').trim();
  return text.length > 1024 ? `${text.slice(0, 1021)}...` : text;
}
