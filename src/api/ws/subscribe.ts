import crypto from 'node:crypto';
import { log } from '../../log.js';
import { loadGrants, unifiedJobRead } from '../access.js';
import type { AuthenticatedUser } from '../auth.js';
import type { ApiContext } from '../context.js';
import type { ResumeBuffer, WsClient } from './client.js';
import type { Hub } from './hub.js';
import { holdLive, releaseHold, startResume } from './resume.js';

/**
 * What a client may say after `{"accept": true}`, in AWX's words (awx/main/consumers.py):
 *
 *   {"groups": {"jobs": ["status_changed", "summary"], "job_events": [42]}, "xrftoken": "<csrftoken>"}
 *
 * Every message must carry the CSRF token; a wrong one gets `{"error": "access denied to
 * channel"}` and changes nothing. `groups` replaces the whole subscription set: each
 * `name: [a, b]` means groups `name-a`, `name-b`; event groups need read access to the job
 * (denied ids get AWX's per-id error and are skipped). The reply names the set and the
 * difference: `groups_current`, `groups_left`, `groups_joined`.
 *
 * What a message may cost is bounded before anything is looked up: at most
 * MAX_GROUPS_PER_CLIENT groups (a 64 KB frame could otherwise name ~20,000 job ids, and
 * checking them one by one cost two queries each); a larger request is refused whole with
 * an error naming the cap. The job ids of all event groups are then checked together: the
 * caller's grants and one query over `unified_jobs`, whatever their number. `metrics` (the
 * pipeline's and web nodes' live figures) is for superusers and system auditors, as
 * /api/v2/metrics/ is.
 *
 * Playstream's opt-ins ride on the same message: `"batch": true` (frames become JSON
 * arrays of messages) and `"resume": {"job_events-42": 1500}` (stored events after 1500,
 * then live), applied after `groups`.
 */

/** Groups whose ids are jobs: joining needs read access to that job. */
export const EVENT_GROUPS = new Set(['job_events', 'project_update_events', 'inventory_update_events',
  'ad_hoc_command_events', 'system_job_events', 'workflow_events']);
/** Other groups AWX clients subscribe to, with the names they take. */
const PLAIN_GROUPS = new Set(['jobs', 'schedules', 'control', 'metrics']);
/** Groups the bus publishes under their bare name: subscribing to `metrics: [...]` or `control: [...]` also joins it. */
const BARE_GROUPS = new Set(['control', 'metrics']);

/** The console asks for a handful; 1000 is room for a dashboard of every running job with a check that stays one query. */
export const MAX_GROUPS_PER_CLIENT = 1000;
/** Groups only superusers and system auditors may join. */
const ADMIN_GROUPS = new Set(['metrics']);

export function xrfTokenValid(client: WsClient, token: unknown): boolean {
  const data = client.ws.getUserData();
  if (data.csrfCookie === undefined) {
    // No cookie means no ambient credential to forge: header auth (basic/bearer) needs no
    // CSRF token, but a cookie session without its csrftoken is refused, as AWX does.
    return data.headerAuth && (token === undefined || token === null);
  }
  if (typeof token !== 'string') return false;
  const a = Buffer.from(token);
  const b = Buffer.from(data.csrfCookie);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}

export async function handleClientMessage(client: WsClient, raw: string, ctx: ApiContext, hub: Hub): Promise<void> {
  let data: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(raw);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    data = parsed as Record<string, unknown>;
  } catch {
    client.sendNow({ error: 'invalid message: expected a JSON object' });
    return;
  }
  if (!xrfTokenValid(client, data.xrftoken)) {
    log.warn('access denied to channel, XRF mismatch', { user: client.user.username });
    client.sendNow({ error: 'access denied to channel' });
    return;
  }
  if (typeof data.batch === 'boolean') client.batch = data.batch;
  const resume = data.resume && typeof data.resume === 'object' ? Object.entries(data.resume as Record<string, unknown>) : [];
  let held = new Map<string, ResumeBuffer>();
  if ('groups' in data) {
    const joined = await replaceGroups(client, data.groups, ctx, hub, new Set(resume.map(([group]) => group)));
    if (!joined) return;
    held = joined;
  }
  for (const [group, after] of resume) {
    if (client.closed) return;
    if (typeof after !== 'number' || !Number.isInteger(after) || after < 0) {
      releaseHold(client, group, held.get(group));
      client.sendNow({ error: `resume counter for ${group} must be a non-negative integer` });
      continue;
    }
    if (!client.queues.has(group)) {
      client.sendNow({ error: `resume needs a subscription to ${group}` });
      continue;
    }
    void startResume(client, group, after, ctx, hub, held.get(group)).catch((err) => {
      log.error('resume failed', { group, err: (err as Error).stack ?? err });
      releaseHold(client, group, client.resuming.get(group));
      client.sendNow({ error: `resume of ${group} failed` });
    });
  }
}

/**
 * Makes the client's groups `groups`. Returns false if refused, else the side queues of the
 * joined groups the same message resumes (`resumeGroups`), held as they were joined.
 */
async function replaceGroups(client: WsClient, groups: unknown, ctx: ApiContext, hub: Hub,
  resumeGroups: ReadonlySet<string>): Promise<Map<string, ResumeBuffer> | false> {
  if (!groups || typeof groups !== 'object' || Array.isArray(groups)) {
    client.sendNow({ error: 'access denied to channel' });
    return false;
  }
  const entries = Object.entries(groups as Record<string, unknown>);
  let asked = 0;
  for (const [name, ids] of entries) {
    if (!Array.isArray(ids)) {
      log.warn('groups must be a list', { user: client.user.username, name });
      client.sendNow({ error: 'access denied to channel' });
      return false;
    }
    asked += ids.length + (BARE_GROUPS.has(name) ? 1 : 0);
  }
  if (asked > MAX_GROUPS_PER_CLIENT) {
    client.sendNow({ error: `at most ${MAX_GROUPS_PER_CLIENT} groups per subscription (asked for ${asked})` });
    return false;
  }
  const mayReadAll = client.user.is_superuser || client.user.is_system_auditor;
  const jobIds = new Set<number>();
  for (const [name, ids] of entries as [string, unknown[]][]) {
    if (!EVENT_GROUPS.has(name)) continue;
    for (const id of ids) {
      const jobId = Number(id);
      if (Number.isSafeInteger(jobId) && jobId > 0) jobIds.add(jobId);
    }
  }
  const readable = mayReadAll ? jobIds : await readableJobs(ctx, client.user, [...jobIds]);
  const wanted = new Set<string>();
  for (const [name, ids] of entries as [string, unknown[]][]) {
    if ((!EVENT_GROUPS.has(name) && !PLAIN_GROUPS.has(name)) || (ADMIN_GROUPS.has(name) && !mayReadAll)) {
      client.sendNow({ error: `access denied to channel ${name}` });
      continue;
    }
    if (BARE_GROUPS.has(name)) wanted.add(name);
    for (const id of ids) {
      if (EVENT_GROUPS.has(name) && !readable.has(Number(id))) {
        client.sendNow({ error: `access denied to channel ${name} for resource id ${String(id)}` });
        continue;
      }
      wanted.add(`${name}-${String(id)}`);
    }
  }
  if (client.closed) return false;
  const current = new Set(client.groups);
  const left = [...current].filter((g) => !wanted.has(g));
  const joined = [...wanted].filter((g) => !current.has(g));
  for (const g of left) hub.leave(client, g);
  const held = new Map<string, ResumeBuffer>();
  for (const g of joined) {
    hub.join(client, g);
    const buffer = resumeGroups.has(g) ? holdLive(client, g) : undefined;
    if (buffer) held.set(g, buffer);
  }
  // The receivers learn of a new group before the client learns it is in it.
  await hub.announceGroups();
  client.sendNow({ groups_current: [...wanted], groups_left: left, groups_joined: joined });
  return held;
}

/** Of `ids`, the unified jobs `user` may read: their grants, then one query for all ids (access.ts's rule for one job). */
async function readableJobs(ctx: ApiContext, user: AuthenticatedUser, ids: number[]): Promise<Set<number>> {
  if (ids.length === 0) return new Set();
  const grants = await loadGrants(ctx, user);
  const read = unifiedJobRead(grants, 2);
  const { rows } = await ctx.pool.query<{ id: number }>(
    `SELECT t.id FROM unified_jobs t WHERE t.id = ANY($1::bigint[]) AND ${read.sql}`, [ids, ...read.params]);
  return new Set(rows.map((r) => r.id));
}
