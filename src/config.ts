import os from 'node:os';
import path from 'node:path';
import { ConfigError } from './errors.js';

/**
 * Every setting Playstream reads from the environment, in one place. Each entry names its
 * variable, its default and how it is parsed; the README's configuration table mirrors
 * this list. A value that does not parse stops start-up with a ConfigError naming the
 * variable (misconfiguration fails loudly, once, at start).
 */

type Parser<T> = (raw: string, name: string) => T;

const str: Parser<string> = (raw) => raw;

function int(min: number, max: number): Parser<number> {
  return (raw, name) => {
    if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(name, `"${raw}" is not an integer`);
    const n = Number(raw);
    if (n < min || n > max) throw new ConfigError(name, `${n} is outside ${min}..${max}`);
    return n;
  };
}

function url(protocols: string[]): Parser<string> {
  return (raw, name) => {
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      throw new ConfigError(name, `"${redactUrl(raw)}" is not a URL`);
    }
    if (!protocols.includes(parsed.protocol)) {
      throw new ConfigError(name, `protocol must be one of ${protocols.join(', ')}, got ${parsed.protocol}`);
    }
    return raw;
  };
}

const bool: Parser<boolean> = (raw, name) => {
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  throw new ConfigError(name, `"${raw}" is not a boolean (true/false)`);
};

function oneOf<T extends string>(values: readonly T[]): Parser<T> {
  return (raw, name) => {
    if (!values.includes(raw as T)) throw new ConfigError(name, `must be one of ${values.join(', ')}`);
    return raw as T;
  };
}

interface Setting<T> {
  env: string;
  parse: Parser<T>;
  default: T | (() => T);
  doc: string;
}

function setting<T>(env: string, parse: Parser<T>, def: T | (() => T), doc: string): Setting<T> {
  return { env, parse, default: def, doc };
}

export const settings = {
  databaseUrl: setting<string | undefined>('DATABASE_URL', url(['postgres:', 'postgresql:']), undefined,
    'Postgres connection URL. Unset: `start` runs an embedded Postgres under the data dir.'),
  redisUrl: setting<string | undefined>('REDIS_URL', url(['redis:', 'rediss:']), undefined,
    'Redis connection URL. Unset: `start` runs an embedded redis-server under the data dir.'),
  port: setting('PORT', int(1, 65535), 8013, 'HTTP and websocket port of the web process.'),
  host: setting('PLAYSTREAM_HOST', str, '127.0.0.1', 'Address the web process listens on.'),
  dataDir: setting('PLAYSTREAM_DATA_DIR', (raw) => path.resolve(raw), () => path.resolve('.data'),
    'Where embedded Postgres/Redis, the secret key, projects and job dirs live.'),
  adminPassword: setting<string | undefined>('PLAYSTREAM_ADMIN_PASSWORD', str, undefined,
    'Password of `admin` set on first start; unset, one is generated and printed once.'),
  secretKey: setting<string | undefined>('SECRET_KEY', secretKey, undefined,
    'Key that encrypts credential secrets (≥ 32 chars). Unset: generated into the data dir.'),
  nodeName: setting('PLAYSTREAM_NODE_NAME', nodeName, () => os.hostname(),
    'This node\'s instance name in the cluster.'),
  nodeType: setting('PLAYSTREAM_NODE_TYPE', oneOf(['hybrid', 'control', 'execution'] as const), 'hybrid',
    'This node\'s role, as AWX\'s node_type: `hybrid` runs everything; `control` runs web, receiver and the task manager and no jobs; `execution` runs jobs only (docs/cluster.md).'),
  logLevel: setting('PLAYSTREAM_LOG_LEVEL', oneOf(['debug', 'info', 'warn', 'error'] as const), 'info',
    'Least severe log level printed.'),
  callbackQueue: setting('PLAYSTREAM_CALLBACK_QUEUE', str, 'callback_tasks',
    'Redis list the receiver consumes events from.'),
  redisPrefix: setting('PLAYSTREAM_REDIS_PREFIX', str, '',
    'Prefix of every Redis key and channel Playstream uses (lets tests and tenants share a Redis).'),
  receiverWorkers: setting('PLAYSTREAM_RECEIVER_WORKERS', int(1, 64), 2,
    'Concurrent consume/COPY loops in the receiver process.'),
  receiverBatchSize: setting('PLAYSTREAM_RECEIVER_BATCH_SIZE', int(1, 100000), 1000,
    'A batch closes when it holds this many events...'),
  receiverBatchMs: setting('PLAYSTREAM_RECEIVER_BATCH_MS', int(0, 60000), 50,
    '...or when it is this old, whichever first; an empty list flushes at once.'),
  eventWaitSeconds: setting('PLAYSTREAM_EVENT_WAIT_SECONDS', int(1, 86400), 60,
    'How long after a job\'s final status the receiver waits for events its producer announced and never sent; then processing finishes with the gap recorded (events_missing).'),
  apiCacheMb: setting('PLAYSTREAM_API_CACHE_MB', int(0, 99999), 64,
    'Web process read cache of API pages, in MB (0 turns it off; src/api/cache/read-cache.ts).'),
  // Read by the API engine from the environment at each use (list-count.ts, crud.ts), checked here at start.
  apiCountCap: setting('PLAYSTREAM_API_COUNT_CAP', int(1, 100_000_000), 10_000,
    'A list\'s count stops at this many rows when no counter table answers it (docs/api.md).'),
  apiListPlan: setting('PLAYSTREAM_API_LIST_PLAN', oneOf(['auto', 'index', 'sort'] as const), 'auto',
    '`index` or `sort` forces how a narrowed list reads its page (docs/api.md); for diagnosis and tests.'),
  eventSearchIndex: setting('PLAYSTREAM_EVENT_SEARCH_INDEX', bool, true,
    'Build a trigram index on the stdout of each hourly event partition once its jobs are done, so `stdout__icontains` reads the index (about a quarter of the partition\'s size, built in the background; src/db/event-search-index.ts).'),
  wsQueueSize: setting('PLAYSTREAM_WS_QUEUE_SIZE', int(1, 10_000_000), 10000,
    'Per-client, per-group websocket queue bound (messages).'),
  wsOverflowCloseSeconds: setting('PLAYSTREAM_WS_OVERFLOW_CLOSE_SECONDS', int(1, 86400), 30,
    'A websocket client whose queue stays over capacity this long is closed (code 4008).'),
  redisFsync: setting('PLAYSTREAM_REDIS_APPENDFSYNC', oneOf(['always', 'everysec', 'no'] as const), 'everysec',
    'Embedded Redis appendfsync: `always` makes an acknowledged RPUSH survive a power cut.'),
  heartbeatSeconds: setting('PLAYSTREAM_HEARTBEAT_SECONDS', int(1, 3600), 10,
    'Instance heartbeat period.'),
  heartbeatTolerance: setting('PLAYSTREAM_HEARTBEAT_TOLERANCE', int(1, 36000), 60,
    'Seconds without a heartbeat after which peers mark a node lost and reap its jobs.'),
  dispatcherWorkers: setting('PLAYSTREAM_DISPATCHER_WORKERS', int(0, 1024), 0,
    'Most dispatcher worker processes (each runs one job at a time); 0 sizes the pool from the node\'s capacity.'),
  authFailuresPerUser: setting('PLAYSTREAM_AUTH_FAILURES_PER_USER', int(1, 1_000_000), 10,
    'Failed password checks (login form, basic auth) for one username in a window; at the limit the username is locked (429) until the window ends.'),
  authFailuresPerAddress: setting('PLAYSTREAM_AUTH_FAILURES_PER_ADDRESS', int(1, 1_000_000), 50,
    'Failed password checks from one client address (IPv6: its /64) in a window, over all usernames.'),
  authFailureWindowSeconds: setting('PLAYSTREAM_AUTH_FAILURE_WINDOW_SECONDS', int(1, 86400), 300,
    'The failure counters\' window, from the first failure counted (docs/security.md).'),
  passwordHashCost: setting('PLAYSTREAM_PASSWORD_HASH_COST', int(10, 20), 17,
    "log2 of scrypt's N for new password hashes (r=8, p=1). 17 is OWASP's guidance: a hash or check then costs ~0.5-1 s of CPU. Hashes keep the cost they were made at and are redone at this one on the next login. The test suite runs at 12."),
  autoInstall: setting('PLAYSTREAM_AUTO_INSTALL', bool, true,
    'Install missing system packages with apt-get when running as root on Debian.'),
  jobSandbox: setting('PLAYSTREAM_JOB_SANDBOX', oneOf(['bubblewrap', 'off'] as const), 'bubblewrap',
    'How every job process (ansible-runner, git, ansible-inventory) is sealed: `bubblewrap`, or `off` for a trusted single-user install (jobs then see the whole machine; the dispatcher warns at start).'),
} as const;

function secretKey(raw: string, name: string): string {
  if (raw.length < 32) throw new ConfigError(name, 'must be at least 32 characters');
  return raw;
}

function nodeName(raw: string, name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,249}$/.test(raw)) {
    throw new ConfigError(name, `"${raw}" must be 1–250 letters, digits, '.', '_' or '-'`);
  }
  return raw;
}

export type Settings = typeof settings;
export type Config = { [K in keyof Settings]: Settings[K] extends Setting<infer T> ? T : never };

/** Reads and validates every setting; throws ConfigError naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(settings) as (keyof Settings)[]) out[key] = readSetting(key, env);
  return out as Config;
}

/** One setting, for a module that reads it where no Config is passed (security/passwords.ts). */
export function readSetting<K extends keyof Settings>(key: K, env: NodeJS.ProcessEnv = process.env): Config[K] {
  const s = settings[key] as Setting<unknown>;
  const raw = env[s.env];
  if (raw === undefined || raw === '') return (typeof s.default === 'function' ? (s.default as () => unknown)() : s.default) as Config[K];
  return s.parse(raw, s.env) as Config[K];
}

export function redactUrl(raw: string): string {
  return raw.replace(/\/\/([^:/@]*):([^@]*)@/, '//$1:***@');
}
