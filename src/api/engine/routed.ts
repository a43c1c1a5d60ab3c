/**
 * Whether a path has a route (any method), as the router says: `related` links are kept only
 * when they lead somewhere (serialize.ts), so a client following one never meets a 404 for a
 * list Playstream does not serve. The web server's router sets the check (server.ts); until
 * then every link is kept. Answers are remembered per path shape (ids replaced).
 */
let check: ((path: string) => boolean) | undefined;
const known = new Map<string, boolean>();

export function setRouteCheck(fn: (path: string) => boolean): void {
  check = fn;
  known.clear();
}

export function keepRouted(links: Record<string, unknown>): Record<string, unknown> {
  if (!check) return links;
  const out: Record<string, unknown> = {};
  for (const [name, url] of Object.entries(links)) {
    if (typeof url === 'string' && url.startsWith('/api/')) {
      const shape = url.split('?')[0].replace(/\/\d+\//g, '/1/');
      let ok = known.get(shape);
      if (ok === undefined) { ok = check(shape); known.set(shape, ok); }
      if (!ok) continue;
    }
    out[name] = url;
  }
  return out;
}
