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

  /** A job's environment as stored and shown (job_env): the job's secrets replaced, then safeEnv's rules. */
  env(env: Record<string, string | undefined>): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = this.text(v);
    return safeEnv(out);
  }
}

const HIDDEN_KEY = /API|TOKEN|KEY|SECRET|PASS/i;
const URL_PASSWORD = /^(.*?:\/\/[^:/@]+:)(.*?)(@.*)$/;

/**
 * AWX's build_safe_env: the value of a variable whose name says it may be secret (API,
 * TOKEN, KEY, SECRET, PASS) is hidden, except AWS_ACCESS_KEY_ID and ANSIBLE_* settings
 * (not ANSIBLE_NET_* or ANSIBLE_GALAXY_SERVER_*, which carry passwords and tokens), and the
 * password of a URL (`scheme://user:password@host`) is hidden in any value. Applied when a
 * job's environment is stored and again when it is shown (rows stored before a rule was added).
 */
export function safeEnv(env: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, raw] of Object.entries(env)) {
    const v = typeof raw === 'string' ? raw : JSON.stringify(raw);
    const ansibleSetting = k.startsWith('ANSIBLE_') && !k.startsWith('ANSIBLE_NET') && !k.startsWith('ANSIBLE_GALAXY_SERVER');
    if (k !== 'AWS_ACCESS_KEY_ID' && !ansibleSetting && HIDDEN_KEY.test(k)) out[k] = v.length ? REDACTED : v;
    else out[k] = v.replace(URL_PASSWORD, `$1${REDACTED}$3`);
  }
  return out;
}
