import fs from 'node:fs';
import { Pool } from 'undici';
import { random, urlClasses, type Who } from './mix.js';

/**
 * The cost of each URL class of the mix (mix.ts), one request at a time against a running
 * stack: where the mixed run's time goes. Usage (after `npm run loadtest:api` kept its data
 * with LOADTEST_DATA_DIR and a stack runs on it):
 *   PROFILE_URL=http://127.0.0.1:18080 LOADTEST_DATA_DIR=/tmp/lt-scale node scripts/bench.mjs loadtest/api/profile.ts loadtest-profile
 * Prints per class and caller: n, mean, p50, max (ms) and the slowest URL.
 */
const base = process.env.PROFILE_URL ?? 'http://127.0.0.1:18080';
const seed = JSON.parse(fs.readFileSync(`${process.env.LOADTEST_DATA_DIR ?? '/tmp/lt-scale'}/loadtest-seed.json`, 'utf8'));
const N = Number(process.env.PROFILE_N ?? 30);
const http = new Pool(base, { connections: 1 });

async function token(user: string, password: string): Promise<string> {
  const res = await http.request({ method: 'POST', path: '/api/v2/tokens/', body: JSON.stringify({ scope: 'write', description: 'profile' }),
    headers: { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`, 'content-type': 'application/json' } });
  const body = (await res.body.json()) as { token?: string };
  if (!body.token) throw new Error(`no token for ${user}: ${res.statusCode}`);
  return `Bearer ${body.token}`;
}

const auth: Record<Who, string> = { admin: await token('scale-admin', 'scale-pw'), user: await token('scale-user', 'scale-pw') };
const classes = urlClasses(seed.set, { jobs: seed.jobs, hosts: 10_000, events: seed.events });
for (const c of classes) {
  for (const who of ['admin', 'user'] as Who[]) {
    const rnd = random(c.name.length * 7919 + (who === 'admin' ? 1 : 2));
    const times: { ms: number; path: string; status: number }[] = [];
    for (let i = 0; i < N; i++) {
      const r = c.make(rnd, who);
      const t0 = performance.now();
      const res = await http.request({ method: r.method, path: r.path, body: r.body,
        headers: { authorization: auth[who], ...(r.body ? { 'content-type': 'application/json' } : {}) } });
      await res.body.arrayBuffer();
      times.push({ ms: performance.now() - t0, path: `${r.method} ${r.path}`, status: res.statusCode });
    }
    const sorted = times.map((t) => t.ms).sort((a, b) => a - b);
    const worst = times.reduce((a, b) => (b.ms > a.ms ? b : a));
    const mean = sorted.reduce((s, x) => s + x, 0) / sorted.length;
    const bad = times.filter((t) => t.status >= 400).length;
    for (const t of times) if (t.status >= 400) console.log(`  HTTP ${t.status} ${t.path}`);
    console.log(`${c.name.padEnd(16)} ${who.padEnd(5)} mean ${mean.toFixed(1).padStart(7)}  p50 ${sorted[N >> 1].toFixed(1).padStart(7)}  max ${worst.ms.toFixed(1).padStart(7)}${bad ? `  errors ${bad}` : ''}  ${worst.path}`);
  }
}
await http.close();
