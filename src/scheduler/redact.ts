/**
 * Secret redaction for what a job leaves behind (job_args, job_env, stdout, event data).
 * Each secret is replaced in its raw form and in its JSON-escaped form (events are redacted
 * as serialized JSON, once per event, so a secret inside event_data or stdout is caught in
 * one pass). Longest first, so a secret that contains another is replaced whole.
 */
export const REDACTED = '**********';

export class Redactor {
  #needles: string[] = [];
  constructor(secrets: string[]) {
    this.add(secrets);
  }

  /** More secrets (a job kind learns its credentials' after the job's EventPusher exists). */
  add(secrets: string[]): void {
    const set = new Set<string>(this.#needles);
    for (const s of secrets) {
      if (!s || s.length < 2) continue;
      set.add(s);
      set.add(JSON.stringify(s).slice(1, -1));
    }
    this.#needles = [...set].sort((a, b) => b.length - a.length);
  }

  get active(): boolean { return this.#needles.length > 0; }

  text(s: string): string {
    for (const n of this.#needles) if (s.includes(n)) s = s.split(n).join(REDACTED);
    return s;
  }

  env(env: Record<string, string | undefined>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(env)) {
      if (v === undefined) continue;
      out[k] = /PASSWORD|SECRET|TOKEN|KEY/i.test(k) && !/^(PATH|ANSIBLE_.*_PATH)$/.test(k) && v.length ? REDACTED : this.text(v);
    }
    return out;
  }
}
