import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small stand-in for HashiCorp Vault (which cannot be installed here), speaking the parts of
 * its HTTP API that AWX's hashivault plugins call, with Vault's status codes:
 * - token auth: `X-Vault-Token` (or `Authorization: Bearer`) must be a known token, else 403
 *   {"errors": ["permission denied"]};
 * - AppRole login: POST /v1/auth/<mount>/login {role_id, secret_id} → {auth: {client_token}};
 *   userpass login: POST /v1/auth/<mount>/login/<username> {password};
 * - KV v1 mounts: GET /v1/<mount>/<path> → {data: {...}};
 * - KV v2 mounts: GET /v1/<mount>/data/<path>[?version=N] → {data: {data, metadata: {version}}};
 * - SSH signer mounts: POST /v1/<mount>/sign/<role> {public_key, valid_principals} →
 *   {data: {serial_number, signed_key}}, the "certificate" a digest of key, role and principals
 *   (`signedKey()` computes the same, so a test knows what a job must have received).
 * Every request is recorded (method, path, token) for assertions.
 */
export interface VaultServer {
  url: string;
  requests: { method: string; path: string; token: string; body: any }[];
  close(): Promise<void>;
}

export interface VaultSetup {
  tokens: string[];
  approles?: Record<string, { secretId: string; token: string }>;
  userpass?: Record<string, { password: string; token: string }>;
  kv1?: Record<string, Record<string, Record<string, unknown>>>;
  kv2?: Record<string, Record<string, Record<string, unknown>[]>>;
  ssh?: Record<string, string[]>;
}

export function signedKey(publicKey: string, role: string, principals = ''): string {
  const digest = createHash('sha256').update(`${publicKey}\n${role}\n${principals}`).digest('base64');
  return `ssh-ed25519-cert-v01@openssh.com ${digest} vault-signed-${role}`;
}

export async function startVaultServer(setup: VaultSetup): Promise<VaultServer> {
  const tokens = new Set(setup.tokens);
  const requests: VaultServer['requests'] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://vault');
      const token = String(req.headers['x-vault-token'] ?? String(req.headers.authorization ?? '').replace(/^Bearer /, ''));
      let body: any = null;
      try { body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : null; } catch { body = null; }
      requests.push({ method: req.method ?? '', path: url.pathname + url.search, token, body });
      const send = (status: number, json: unknown) => {
        res.writeHead(status, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(json));
      };
      const parts = url.pathname.replace(/\/+$/, '').split('/').filter(Boolean).map(decodeURIComponent);
      if (parts[0] !== 'v1') return send(404, { errors: [] });
      const [, mount, ...rest] = parts;
      if (mount === 'auth' && req.method === 'POST' && rest[1] === 'login') {
        const approle = setup.approles?.[body?.role_id];
        if (!rest[2] && approle && approle.secretId === body?.secret_id) return send(200, { auth: { client_token: approle.token } });
        const user = rest[2] ? setup.userpass?.[rest[2]] : undefined;
        if (user && user.password === body?.password) return send(200, { auth: { client_token: user.token } });
        return send(400, { errors: ['invalid role or secret ID'] });
      }
      if (!tokens.has(token)) return send(403, { errors: ['permission denied'] });
      if (setup.kv1?.[mount] && req.method === 'GET') {
        const secret = setup.kv1[mount][rest.join('/')];
        return secret ? send(200, { data: secret, lease_duration: 2764800 }) : send(404, { errors: [] });
      }
      if (setup.kv2?.[mount] && req.method === 'GET' && rest[0] === 'data') {
        const versions = setup.kv2[mount][rest.slice(1).join('/')];
        if (!versions) return send(404, { errors: [] });
        const version = url.searchParams.get('version') ? Number(url.searchParams.get('version')) : versions.length;
        const data = versions[version - 1];
        return data ? send(200, { data: { data, metadata: { version } } }) : send(404, { errors: [] });
      }
      if (setup.ssh?.[mount] && req.method === 'POST' && rest[0] === 'sign') {
        if (!setup.ssh[mount].includes(rest[1])) return send(400, { errors: [`unknown role: ${rest[1]}`] });
        if (!body?.public_key) return send(400, { errors: ['missing public_key'] });
        return send(200, { data: { serial_number: '1', signed_key: signedKey(body.public_key, rest[1], body.valid_principals ?? '') } });
      }
      return send(404, { errors: [] });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((r) => server.close(() => r())) };
}
