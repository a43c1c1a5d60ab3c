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

const ID_SEGMENT = /\/\d+\//g;

function routed(url: unknown): boolean {
  if (typeof url !== 'string' || !url.startsWith('/api/')) return true;
  const q = url.indexOf('?');
  const shape = (q < 0 ? url : url.slice(0, q)).replace(ID_SEGMENT, '/1/');
  let ok = known.get(shape);
  if (ok === undefined) { ok = check!(shape); known.set(shape, ok); }
  return ok;
}

/** `links` without those that lead nowhere: the same object when all lead somewhere (the usual case, once per row). */
export function keepRouted(links: Record<string, unknown>): Record<string, unknown> {
  if (!check) return links;
  let all = true;
  for (const name in links) if (!routed(links[name])) { all = false; break; }
  if (all) return links;
  const out: Record<string, unknown> = {};
  for (const name in links) if (routed(links[name])) out[name] = links[name];
  return out;
}
