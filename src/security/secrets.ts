import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PlaystreamError } from '../errors.js';

/**
 * Secrets at rest: AES-256-GCM under a key derived from SECRET_KEY, stored as
 * "$encrypted$AESGCM$<iv>$<tag>$<ciphertext>" (base64url parts). The API shows every
 * secret as AWX's "$encrypted$" placeholder; only the runner decrypts, at job start.
 */
export const ENCRYPTED_PLACEHOLDER = '$encrypted$';
const PREFIX = '$encrypted$AESGCM$';

export class SecretBox {
  readonly #key: Buffer;
  constructor(secretKey: string) {
    this.#key = Buffer.from(crypto.hkdfSync('sha256', secretKey, 'playstream', 'credential-inputs', 32));
  }

  encrypt(plain: string): string {
    const iv = crypto.randomBytes(12);
    const cipher = crypto.createCipheriv('aes-256-gcm', this.#key, iv);
    const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return `${PREFIX}${iv.toString('base64url')}$${cipher.getAuthTag().toString('base64url')}$${ct.toString('base64url')}`;
  }

  decrypt(token: string): string {
    if (!isEncrypted(token)) throw new PlaystreamError('PS_ERR_SECRET', 'value is not an encrypted secret');
    const [iv, tag, ct] = token.slice(PREFIX.length).split('$');
    try {
      const decipher = crypto.createDecipheriv('aes-256-gcm', this.#key, Buffer.from(iv, 'base64url'));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
    } catch (err) {
      throw new PlaystreamError('PS_ERR_SECRET', 'secret cannot be decrypted: SECRET_KEY differs from the one that encrypted it', { cause: err });
    }
  }

  /** Encrypts the fields of `inputs` that `secretFields` names (non-empty strings only). */
  encryptFields(inputs: Record<string, unknown>, secretFields: Iterable<string>): Record<string, unknown> {
    const out = { ...inputs };
    for (const f of secretFields) {
      const v = out[f];
      if (typeof v === 'string' && v !== '' && !isEncrypted(v)) out[f] = this.encrypt(v);
    }
    return out;
  }

  /** Decrypts every encrypted string of `inputs`, in nested objects too (webhook headers). */
  decryptFields(inputs: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(inputs)) {
      out[k] = typeof v === 'string' && isEncrypted(v) ? this.decrypt(v)
        : v && typeof v === 'object' && !Array.isArray(v) ? this.decryptFields(v as Record<string, unknown>) : v;
    }
    return out;
  }
}

export function isEncrypted(v: string): boolean {
  return v.startsWith(PREFIX);
}

/** Replaces every encrypted value by AWX's "$encrypted$" placeholder, for API output. */
export function maskSecrets(inputs: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(inputs)) out[k] = typeof v === 'string' && isEncrypted(v) ? ENCRYPTED_PLACEHOLDER : v;
  return out;
}

/**
 * One secret value of an object the API writes (a notification's `password`, its webhook
 * `headers`): a string is encrypted, an object has each of its string values encrypted (a
 * header map is secret header by header). "$encrypted$" — what the API showed — keeps the
 * stored value, so a client can send back what it read.
 */
export function sealSecretValue(box: SecretBox, value: unknown, stored: unknown): unknown {
  if (value === ENCRYPTED_PLACEHOLDER) return stored;
  if (typeof value === 'string') return value === '' || (isEncrypted(value) && value === stored) ? value : box.encrypt(value);
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const before = stored && typeof stored === 'object' ? (stored as Record<string, unknown>) : {};
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const sealed = sealSecretValue(box, v, before[k]);
      if (sealed !== undefined) out[k] = sealed;
    }
    return out;
  }
  return value;
}

/** The API's view of a secret value: every non-empty string, at any depth, as "$encrypted$". */
export function maskSecretValue(value: unknown): unknown {
  if (typeof value === 'string') return value === '' ? value : ENCRYPTED_PLACEHOLDER;
  if (Array.isArray(value)) return value.map(maskSecretValue);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskSecretValue(v)]));
  return value;
}

/** Masks the fields `secretFields` names in `obj` (credential inputs, a notification's configuration). */
export function maskSecretFields(obj: Record<string, unknown>, secretFields: Iterable<string>): Record<string, unknown> {
  const out = { ...obj };
  for (const f of secretFields) if (out[f] !== undefined && out[f] !== null) out[f] = maskSecretValue(out[f]);
  return out;
}

/** SECRET_KEY from the environment, else the data dir's `secret_key`, generated on first start. */
export function resolveSecretKey(configured: string | undefined, dataDir: string): string {
  if (configured) return configured;
  const file = path.join(dataDir, 'secret_key');
  if (!fs.existsSync(file)) {
    fs.mkdirSync(dataDir, { recursive: true });
    fs.writeFileSync(file, crypto.randomBytes(48).toString('base64url'), { mode: 0o600, flag: 'wx' });
  }
  return fs.readFileSync(file, 'utf8').trim();
}

/** Whether two secrets (tokens, keys) are equal, in time that does not depend on where they differ. */
export function equalSecrets(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}
