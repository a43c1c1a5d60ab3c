import crypto from 'node:crypto';
import { log } from '../log.js';
import { metrics } from '../metrics.js';
import { redisKeys } from '../redis-keys.js';
import { ATTEMPT_LUA, SUCCEEDED_LUA } from './auth-throttle-scripts.js';
import type { ApiContext } from './context.js';
import { HttpError } from './http.js';

/**
 * Limits on password guessing, shared by every web process through Redis: the login
 * form, basic auth (on any route, token creation and websocket upgrades included) all
 * check passwords through auth.ts's checkPassword, which reserves an attempt here first.
 *
 * Two counters per attempt, each a fixed window from its first counted attempt
 * (auth-throttle-scripts.ts): one per username (PLAYSTREAM_AUTH_FAILURES_PER_USER, default
 * 10), one per client address (PLAYSTREAM_AUTH_FAILURES_PER_ADDRESS, default 50), over
 * PLAYSTREAM_AUTH_FAILURE_WINDOW_SECONDS (default 300). At 10 per 5 minutes a username
 * takes at most 2,880 guesses a day from the whole internet; an address at 50 per 5
 * minutes, 14,400 spread over any usernames. Either counter at its limit refuses every
 * password check it covers with 429 and Retry-After — the right password included, and a
 * verification remembered by the basic-auth cache too — without running scrypt, so a
 * locked-out guesser costs a Redis round trip, not 0.6 s of a core.
 *
 * A success resets its username's counter and takes back its own reservation from the
 * address's; a failure leaves its reservation counted. Usernames are keyed by a hash (a
 * header may carry kilobytes); IPv6 addresses by their /64, since one host holds a whole
 * /64; IPv4-mapped IPv6 as the IPv4 address. The address is the TCP peer: behind a
 * reverse proxy every client shares the proxy's, so raise the address limit there.
 *
 * Redis is the source of truth: if it does not answer within REDIS_TIMEOUT_MS, a password
 * check is refused with 503 rather than allowed unlimited.
 */
const REDIS_TIMEOUT_MS = 2000;

const throttled = metrics.counter('auth_attempts_throttled_total',
  'Password checks refused because the username or the client address reached its failure limit.');

export interface AttemptKeys { user: string; address: string }

/** The counters of one attempt by `username` from the TCP peer `remoteAddress` (uWS's text form). */
export function attemptKeys(ctx: ApiContext, username: string, remoteAddress: string): AttemptKeys {
  const keys = redisKeys(ctx.config);
  const user = crypto.createHash('sha256').update(username).digest('hex').slice(0, 32);
  return { user: keys.authFailures('user', user), address: keys.authFailures('address', clientNetwork(remoteAddress)) };
}

/** An IPv4 address as it is; IPv4-mapped IPv6 as IPv4; other IPv6 as its /64 (`2001:0db8:0000:0001::/64`). */
export function clientNetwork(text: string): string {
  if (!text.includes(':')) return text;
  const groups = expandIpv6(text);
  if (!groups) return text;
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return [groups[6] >> 8, groups[6] & 255, groups[7] >> 8, groups[7] & 255].join('.');
  }
  return `${groups.slice(0, 4).map((g) => g.toString(16).padStart(4, '0')).join(':')}::/64`;
}

function expandIpv6(text: string): number[] | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (s: string) => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const head = parse(halves[0]);
  const tail = halves.length === 2 ? parse(halves[1]) : [];
  const fill = 8 - head.length - tail.length;
  if (fill < 0 || (halves.length === 1 && fill !== 0)) return undefined;
  const groups = [...head, ...new Array<number>(fill).fill(0), ...tail];
  return groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}

function withTimeout<T>(work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new HttpError(503, { detail: 'Authentication is unavailable: attempt limits cannot be checked.' })), REDIS_TIMEOUT_MS);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

async function attempt(ctx: ApiContext, keys: AttemptKeys, reserve: boolean): Promise<void> {
  const c = ctx.config;
  const wait = Number(await withTimeout(ctx.redis.eval(ATTEMPT_LUA, 2, keys.user, keys.address,
    c.authFailureWindowSeconds * 1000, c.authFailuresPerUser, c.authFailuresPerAddress, reserve ? '1' : '0')));
  if (wait === 0) return;
  throttled.inc();
  const seconds = Math.max(1, Math.ceil(wait / 1000));
  throw new HttpError(429, { detail: `Too many failed login attempts. Try again in ${seconds} seconds.` }, { 'retry-after': String(seconds) });
}

/** Reserves a password check, or throws 429 when the username or the address is locked. */
export function reserveAttempt(ctx: ApiContext, keys: AttemptKeys): Promise<void> {
  return attempt(ctx, keys, true);
}

/** Throws 429 when the username or the address is locked; counts nothing (a remembered verification). */
export function refuseIfLocked(ctx: ApiContext, keys: AttemptKeys): Promise<void> {
  return attempt(ctx, keys, false);
}

/** A reserved check succeeded: the username starts from zero, the address gets its reservation back. */
export async function attemptSucceeded(ctx: ApiContext, keys: AttemptKeys): Promise<void> {
  try {
    await withTimeout(ctx.redis.eval(SUCCEEDED_LUA, 2, keys.user, keys.address));
  } catch (err) {
    // The login itself stands: at worst the reservation stays counted until the window ends.
    log.warn('could not reset authentication failure counters', { error: (err as Error).message });
  }
}
