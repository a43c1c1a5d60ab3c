import http from 'node:http';
import https from 'node:https';
import { PlaystreamError } from '../../errors.js';

/**
 * HashiCorp Vault lookups, as AWX's hashivault_kv and hashivault_ssh plugins make them:
 * - authentication: `token`, else AppRole (`role_id` + `secret_id`: POST
 *   v1/auth/<auth_path | default_auth_path>/login) or userpass (`username` + `password`), whose
 *   answer's auth.client_token is used; the token goes in `Authorization: Bearer` and
 *   `X-Vault-Token`, `namespace` in `X-Vault-Namespace`; kubernetes and TLS-certificate login
 *   are refused by name (not implemented);
 * - KV v1: GET v1/[<secret_backend>/]<secret_path>, value at data.<secret_key>;
 * - KV v2: GET v1/<secret_backend>/data/<secret_path> (without a backend, the path's first
 *   segment is the mount), `?version=<secret_version>`, value at data.data.<secret_key>;
 *   a 412 (Vault Enterprise's eventual consistency) is retried up to five times;
 * - SSH signer: POST v1/<secret_path>/sign/<role>/ with public_key (and valid_principals):
 *   the value is data.signed_key.
 * `cacert` is the only CA trusted when given. A request takes at most 30 s (AWX's timeout).
 * Failures are PlaystreamError PS_ERR_CREDENTIAL_LOOKUP with AWX's wording ("HTTP 403", "<key>
 * is not present at <path>"); no message carries a token, a secret id or a value.
 */
type Inputs = Record<string, unknown>;

const TIMEOUT_MS = 30_000;
const MAX_BODY = 4 * 1024 * 1024;

export class VaultHttpError extends PlaystreamError {
  readonly status: number;
  constructor(status: number) {
    super('PS_ERR_CREDENTIAL_LOOKUP', `HTTP ${status}`);
    this.status = status;
  }
}

const str = (v: unknown) => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));
const fail = (msg: string): never => { throw new PlaystreamError('PS_ERR_CREDENTIAL_LOOKUP', msg); };

interface VaultResponse { status: number; json: any }

function request(method: 'GET' | 'POST', url: URL, opts: { headers: Record<string, string>; body?: unknown; cacert?: string }): Promise<VaultResponse> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') fail(`Vault URL must be http or https, not ${url.protocol}`);
  const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  const lib = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(url, {
      method, timeout: TIMEOUT_MS,
      headers: { Accept: 'application/json', ...opts.headers, ...(body ? { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) } : {}) },
      ...(url.protocol === 'https:' && opts.cacert ? { ca: opts.cacert } : {}),
    }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) { req.destroy(new PlaystreamError('PS_ERR_CREDENTIAL_LOOKUP', 'Vault answer too large')); return; }
        chunks.push(c);
      });
      res.on('end', () => {
        let json: any = null;
        try { json = JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null'); } catch { /* a non-JSON answer: status decides */ }
        resolve({ status: res.statusCode ?? 0, json });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new PlaystreamError('PS_ERR_CREDENTIAL_LOOKUP', `Vault did not answer within ${TIMEOUT_MS / 1000} s`)));
    req.on('error', (err) => reject(err instanceof PlaystreamError ? err
      : new PlaystreamError('PS_ERR_CREDENTIAL_LOOKUP', `Vault unreachable: ${(err as NodeJS.ErrnoException).code ?? err.message}`)));
    if (body) req.write(body);
    req.end();
  });
}

/** `base` + `v1/...` as Python's urljoin resolves a relative path against the server URL. */
function vaultUrl(base: string, segments: string[]): URL {
  let root: URL;
  try { root = new URL(base); } catch { return fail('Server URL is not a valid URL'); }
  const rel = ['v1', ...segments].map((s) => s.split('/').filter(Boolean).map(encodeURIComponent).join('/')).filter(Boolean).join('/');
  return new URL(rel, root);
}

function checked(res: VaultResponse): any {
  if (res.status < 200 || res.status >= 300) throw new VaultHttpError(res.status);
  return res.json;
}

async function login(inputs: Inputs): Promise<string> {
  if (str(inputs.token)) return str(inputs.token);
  let body: Record<string, string>;
  if (str(inputs.username) && str(inputs.password)) body = { password: str(inputs.password) };
  else if (str(inputs.role_id) && str(inputs.secret_id)) body = { role_id: str(inputs.role_id), secret_id: str(inputs.secret_id) };
  else if (str(inputs.kubernetes_role) || str(inputs.client_cert_public)) return fail('Kubernetes and TLS certificate authentication to Vault are not supported by Playstream');
  else return fail('Authentication requires a token, a role_id and secret_id, or a username and password');
  const authPath = str(inputs.auth_path) || str(inputs.default_auth_path) || (body.password ? 'userpass' : 'approle');
  const segments = body.password ? ['auth', authPath, 'login', str(inputs.username)] : ['auth', authPath, 'login'];
  const headers: Record<string, string> = str(inputs.namespace) ? { 'X-Vault-Namespace': str(inputs.namespace) } : {};
  const json = checked(await request('POST', vaultUrl(str(inputs.url), segments), { headers, body, cacert: str(inputs.cacert) }));
  const token = json?.auth?.client_token;
  if (typeof token !== 'string' || !token) return fail('Vault login answered no client_token');
  return token;
}

function authHeaders(token: string, inputs: Inputs): Record<string, string> {
  return { Authorization: `Bearer ${token}`, 'X-Vault-Token': token, ...(str(inputs.namespace) ? { 'X-Vault-Namespace': str(inputs.namespace) } : {}) };
}

export async function hashivaultKv(inputs: Inputs): Promise<string> {
  const token = await login(inputs);
  const secretPath = str(inputs.secret_path);
  if (!secretPath) fail('secret_path is required');
  const backend = str(inputs.secret_backend);
  const key = str(inputs.secret_key);
  const v2 = (str(inputs.api_version) || 'v1') === 'v2';
  let segments: string[];
  if (v2) {
    if (backend) segments = [backend, 'data', secretPath];
    else {
      const [mount, ...rest] = secretPath.replace(/^\/+/, '').split('/');
      segments = [mount, 'data', ...rest];
    }
  } else segments = backend ? [backend, secretPath] : [secretPath];
  const url = vaultUrl(str(inputs.url), segments);
  if (v2 && str(inputs.secret_version)) url.searchParams.set('version', str(inputs.secret_version));
  let res: VaultResponse;
  for (let attempt = 0; ; attempt++) {
    res = await request('GET', url, { headers: authHeaders(token, inputs), cacert: str(inputs.cacert) });
    if (res.status !== 412 || attempt >= 4) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  let data = checked(res)?.data;
  if (v2) data = data?.data;
  if (!data || typeof data !== 'object') return fail(`no secret at ${secretPath}`);
  if (!key) return JSON.stringify(data);
  if (!Object.hasOwn(data, key)) return fail(`${key} is not present at ${secretPath}`);
  const value = data[key];
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export async function hashivaultSsh(inputs: Inputs): Promise<string> {
  const token = await login(inputs);
  for (const k of ['secret_path', 'role', 'public_key']) if (!str(inputs[k])) fail(`${k} is required`);
  const body: Record<string, string> = { public_key: str(inputs.public_key) };
  if (str(inputs.valid_principals)) body.valid_principals = str(inputs.valid_principals);
  const url = vaultUrl(str(inputs.url), [str(inputs.secret_path), 'sign', str(inputs.role)]);
  url.pathname += '/';
  const json = checked(await request('POST', url, { headers: authHeaders(token, inputs), body, cacert: str(inputs.cacert) }));
  const signed = json?.data?.signed_key;
  if (typeof signed !== 'string' || !signed) return fail('Vault answered no signed_key');
  return signed;
}
