/**
 * A lean line logger: `time level process message key=value...` on stderr. Every process
 * names itself once (`setProcessName`), so the supervisor's merged output stays readable.
 * Values that look like secrets never reach it: callers pass ids, not credentials.
 */
const levels = { debug: 10, info: 20, warn: 30, error: 40 } as const;
export type Level = keyof typeof levels;

let threshold: number = levels[(process.env.PLAYSTREAM_LOG_LEVEL as Level) ?? 'info'] ?? levels.info;
let processName = 'playstream';

export function setProcessName(name: string): void {
  processName = name;
}

export function setLogLevel(level: Level): void {
  threshold = levels[level];
}

function format(value: unknown): string {
  if (value instanceof Error) return JSON.stringify(value.message);
  if (typeof value === 'string') return /[\s"=]/.test(value) ? JSON.stringify(value) : value;
  return JSON.stringify(value) ?? 'undefined';
}

function write(level: Level, message: string, fields?: Record<string, unknown>): void {
  if (levels[level] < threshold) return;
  let line = `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${processName} ${message}`;
  if (fields) for (const [k, v] of Object.entries(fields)) line += ` ${k}=${format(v)}`;
  process.stderr.write(line + '\n');
}

export const log = {
  debug: (m: string, f?: Record<string, unknown>) => write('debug', m, f),
  info: (m: string, f?: Record<string, unknown>) => write('info', m, f),
  warn: (m: string, f?: Record<string, unknown>) => write('warn', m, f),
  error: (m: string, f?: Record<string, unknown>) => write('error', m, f),
};
