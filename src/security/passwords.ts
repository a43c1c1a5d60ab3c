import crypto from 'node:crypto';
import { promisify } from 'node:util';
import { PlaystreamError } from '../errors.js';
import { readSetting } from '../config.js';
import { metrics } from '../metrics.js';

/**
 * Password hashes: scrypt at OWASP's current guidance (N=2^17, r=8, p=1: 128 MiB and
 * ~0.6-1 s of one core per hash on the 2-core test machine; PLAYSTREAM_PASSWORD_HASH_COST
 * sets log2 N, which the test suite lowers), stored as
 * "scrypt$N$r$p$salt$hash" (salt 16 bytes, hash 32, both base64url). Each hash records its
 * own parameters, so hashes written at an older, lower cost (N=2^15 before this release)
 * keep verifying, and `needsRehash` tells the login path to store a new one.
 *
 * Every check costs one scrypt at the current parameters, whether or not there is a hash
 * to check against: a missing user, or one without a local password, is verified against
 * a dummy hash (random salt, random expected value: it never matches), so the answer's
 * timing does not tell which usernames exist.
 *
 * At 128 MiB each, hashes are gated to MAX_CONCURRENT at a time per process (2: the
 * machine's cores; libuv's 4 threads would otherwise hold 512 MiB), with at most
 * MAX_WAITING queued behind them; past that a check fails with PasswordCheckBusy at once
 * rather than queue without bound (the API answers 503 with Retry-After).
 */
const scrypt = promisify(crypto.scrypt) as (pw: string, salt: Buffer, len: number, opts: crypto.ScryptOptions) => Promise<Buffer>;

const KEYLEN = 32;
const SALT_BYTES = 16;
/** scrypt needs 128·N·r bytes; room for that at the current cost plus Node's own overhead. */
const MAXMEM = 256 * 1024 * 1024;
/** Stored hashes beyond this cost are refused rather than allowed to claim gigabytes. */
const MAX_STORED_N = 2 ** 20;

const MAX_CONCURRENT = 2;
/** 16 behind 2 running at ~0.6 s each: no check waits more than ~5 s for its turn. */
const MAX_WAITING = 16;

const verifications = metrics.counter('auth_password_verifications_total',
  'scrypt password verifications, labelled by the N they ran at (unknown users included: they are checked against a dummy hash).');
const busy = metrics.counter('auth_password_checks_refused_total',
  'Password checks refused because MAX_WAITING were already queued for the scrypt gate.');

interface Params { N: number; r: number; p: number }
interface Parsed extends Params { salt: Buffer; hash: Buffer }

/** Too many password checks queued in this process; callers answer 503 (errors.ts has no code of its own for it yet). */
export class PasswordCheckBusy extends PlaystreamError {
  constructor() { super('PS_ERR_AUTH', 'too many password checks in progress'); }
}

function format(params: Params, salt: Buffer, hash: Buffer): string {
  return `scrypt$${params.N}$${params.r}$${params.p}$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

function parse(stored: string): Parsed | undefined {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  if (![N, r, p].every(Number.isSafeInteger) || N < 2 || N > MAX_STORED_N || (N & (N - 1)) !== 0 || r < 1 || r > 32 || p < 1 || p > 16) return undefined;
  const salt = Buffer.from(parts[4], 'base64url');
  const hash = Buffer.from(parts[5], 'base64url');
  if (salt.length === 0 || hash.length < 16) return undefined;
  return { N, r, p, salt, hash };
}

/** New hashes' parameters: N from PLAYSTREAM_PASSWORD_HASH_COST (2^17 unless set), and a dummy hash at that cost. */
let current: { params: Params; dummy: Parsed } | undefined;
function currentParams(): { params: Params; dummy: Parsed } {
  const N = 2 ** readSetting('passwordHashCost');
  if (current?.params.N !== N) {
    const params = { N, r: 8, p: 1 };
    current = { params, dummy: { ...params, salt: crypto.randomBytes(SALT_BYTES), hash: crypto.randomBytes(KEYLEN) } };
  }
  return current;
}

let running = 0;
const waiting: (() => void)[] = [];

async function gated<T>(work: () => Promise<T>): Promise<T> {
  if (running >= MAX_CONCURRENT) {
    if (waiting.length >= MAX_WAITING) {
      busy.inc();
      throw new PasswordCheckBusy();
    }
    await new Promise<void>((resolve) => waiting.push(resolve));
  } else {
    running++;
  }
  try {
    return await work();
  } finally {
    // A waiter inherits this slot (running stays as it is); with none, the slot frees.
    const next = waiting.shift();
    if (next) next(); else running--;
  }
}

async function derive(password: string, params: Params, salt: Buffer, length: number): Promise<Buffer> {
  return gated(() => scrypt(password, salt, length, { N: params.N, r: params.r, p: params.p, maxmem: MAXMEM }));
}

export async function hashPassword(password: string): Promise<string> {
  const { params } = currentParams();
  const salt = crypto.randomBytes(SALT_BYTES);
  return format(params, salt, await derive(password, params, salt, KEYLEN));
}

/**
 * Whether `password` matches `stored`. With no usable stored hash (no such user, no local
 * password, an unreadable value) the same work is done against a dummy hash at today's cost and the answer
 * is false.
 */
export async function verifyPassword(password: string, stored: string | undefined): Promise<boolean> {
  const real = stored ? parse(stored) : undefined;
  const target = real ?? currentParams().dummy;
  const actual = await derive(password, target, target.salt, target.hash.length);
  verifications.inc(1, { n: String(target.N) });
  return crypto.timingSafeEqual(actual, target.hash) && real !== undefined;
}

/** Whether a stored hash was made at other parameters than today's (checked after a successful verification). */
export function needsRehash(stored: string): boolean {
  const parsed = parse(stored);
  const { params } = currentParams();
  return !parsed || parsed.N !== params.N || parsed.r !== params.r || parsed.p !== params.p
    || parsed.hash.length !== KEYLEN;
}
