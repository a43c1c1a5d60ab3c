import crypto from 'node:crypto';
import type pg from 'pg';

/**
 * Named (server-side prepared) statements for hot queries: the API's pages, the receiver's
 * statements per batch. A 25-job page's SELECT is ~3 KB with a dozen summary subselects:
 * Postgres spent 4 ms planning it against 0.35 ms executing (EXPLAIN ANALYZE, 30 jobs), so
 * every request re-planning it was most of its database time; the receiver's row lock per
 * batch was planned 2,098 times in 25 s of the API load test (0.3 ms each). node-postgres
 * prepares a named statement once per connection and reuses it. Texts vary with filters and
 * ordering, and a backend keeps what it prepared for its life, so only the first MAX_NAMED
 * distinct texts get names; the rest run unnamed. A caller whose texts are a small fixed set
 * (one per resource: a resource's rows by id) passes `fixed`, and its texts are named past
 * that cap: a list's varied texts used up early must not leave those planned every time
 * (their dozen summary subselects cost ~4 ms to plan).
 */
const MAX_NAMED = 256;
const names = new Map<string, string>();
let varied = 0;

export function prepared(text: string, values: unknown[], fixed = false): pg.QueryConfig {
  let name = names.get(text);
  if (!name && (fixed || varied < MAX_NAMED)) {
    if (!fixed) varied++;
    name = `ps_${crypto.createHash('sha1').update(text).digest('hex').slice(0, 20)}`;
    names.set(text, name);
  }
  return name ? { name, text, values } : { text, values };
}
