import http from 'node:http';
import net from 'node:net';

/**
 * What the security tests need beyond tests/support/web.ts: requests from a chosen
 * loopback source address (Linux routes all of 127/8 to lo, so `127.0.0.5` is a distinct
 * client address to the server and each test keeps its own per-address counters), raw
 * requests whose body is never sent (to see whether the server answers before reading
 * it), and the browser's login dance.
 */
export interface HttpAnswer { status: number; headers: http.IncomingHttpHeaders; text: string; json: any }

export function basicHeader(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/** One request from `from` (a 127/8 address). */
export function requestFrom(base: string, from: string, method: string, path: string,
  headers: Record<string, string> = {}, body?: string): Promise<HttpAnswer> {
  const url = new URL(path, base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, path: url.pathname + url.search, method, localAddress: from,
      agent: false, headers: { ...headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { text += d; });
      res.on('end', () => {
        let json: any;
        try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
        resolve({ status: res.statusCode!, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

export interface RawAnswer { status: number; head: string; afterMs: number }

/**
 * Sends `head` (request line and headers, ending in a blank line) and then `body` if
 * given, and resolves with the first response line, or undefined when none comes within
 * `timeoutMs`: a server that waits for a body it was promised answers nothing.
 */
export function rawRequest(port: number, head: string, options: { body?: Buffer[]; timeoutMs?: number } = {}): Promise<RawAnswer | undefined> {
  const started = Date.now();
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let got = '';
    const done = (answer: RawAnswer | undefined) => { clearTimeout(timer); socket.destroy(); resolve(answer); };
    const timer = setTimeout(() => done(undefined), options.timeoutMs ?? 3000);
    socket.on('connect', () => {
      socket.write(head);
      for (const chunk of options.body ?? []) socket.write(chunk);
    });
    socket.on('data', (d) => {
      got += d.toString('latin1');
      const end = got.indexOf('\r\n\r\n');
      if (end >= 0) done({ status: Number(got.split(' ')[1]), head: got.slice(0, end), afterMs: Date.now() - started });
    });
    // The server may close once it has answered and stops reading: what it said still counts.
    socket.on('error', () => {});
    socket.on('close', () => done(undefined));
  });
}

function cookiesOf(res: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of res['set-cookie'] ?? []) {
    const [pair] = line.split(';');
    const eq = pair.indexOf('=');
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** GET /api/login/ for a csrftoken, then POST the form: the answer (302 on success) and the session cookies. */
export async function formLogin(base: string, from: string, username: string, password: string): Promise<{ status: number; cookie?: string; csrf?: string }> {
  const page = await requestFrom(base, from, 'GET', '/api/login/');
  const before = cookiesOf(page.headers).csrftoken;
  const res = await requestFrom(base, from, 'POST', '/api/login/',
    { cookie: `csrftoken=${before}`, 'x-csrftoken': before, 'content-type': 'application/x-www-form-urlencoded' },
    new URLSearchParams({ username, password }).toString());
  const c = cookiesOf(res.headers);
  if (res.status !== 302) return { status: res.status };
  return { status: res.status, cookie: `sessionid=${c.sessionid}; csrftoken=${c.csrftoken}`, csrf: c.csrftoken };
}
