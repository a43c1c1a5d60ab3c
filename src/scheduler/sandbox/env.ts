/**
 * The environment of every process a job starts, built from nothing: never a copy of the
 * controller's own (which holds DATABASE_URL, REDIS_URL, SECRET_KEY and whatever the
 * operator's shell exported). A job gets
 *   PATH    the sandbox's fixed system PATH (or, sandbox off, the controller's PATH: a
 *           list of directories, not a secret, and where a trusted install keeps its tools);
 *   HOME    a directory inside its private data dir (~/.ansible, ~/.ssh, git's config);
 *   locale  LANG, LANGUAGE, LC_*, TZ from the controller, so output encoding and times
 *           read the same as on the host;
 * then AWX_TASK_ENV (the setting: extra variables for every job, lowest priority, as AWX's
 * build_env applies it first), then its credentials' injections, then the variables Playstream sets for the program
 * (ANSIBLE_*, AWX_JOB_ID, GIT_*), which a credential cannot replace.
 */
export const SANDBOX_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const FROM_CONTROLLER = /^(LANG|LANGUAGE|LC_[A-Z_]+|TZ)$/;

export interface JobEnvParts {
  path: string;
  home: string;
  /** The AWX_TASK_ENV setting. */
  taskEnv?: Record<string, string>;
  /** From the job's credentials (custom injectors, cloud types). */
  injected?: Record<string, string>;
  /** Set by Playstream for the program it starts; wins over everything else. */
  set?: Record<string, string>;
}

export function jobEnv(parts: JobEnvParts, controller: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(controller)) if (v !== undefined && FROM_CONTROLLER.test(k)) env[k] = v;
  Object.assign(env, parts.taskEnv ?? {}, parts.injected ?? {}, parts.set ?? {});
  env.PATH = parts.path;
  env.HOME = parts.home;
  return env;
}

/** AWX_TASK_ENV as stored, or why it cannot be (a JSON object of strings: AWX's DictField of CharField). */
export function taskEnvProblem(v: unknown): string | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return 'Expected a dictionary of items.';
  for (const [k, val] of Object.entries(v)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) return `"${k}" is not a valid environment variable name.`;
    if (typeof val !== 'string') return `The value of ${k} must be a string.`;
  }
  return undefined;
}
