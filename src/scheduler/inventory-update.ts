import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type pg from 'pg';
import YAML from 'yaml';
import { jobKinds } from '../db/job-kinds.js';
import { stripAnsi } from '../pipeline/stdout-stream.js';
import { withTransaction } from '../db/pool.js';
import { PlaystreamError } from '../errors.js';
import { redisKeys } from '../redis-keys.js';
import { EventPusher } from './event-push.js';
import { parseVars } from './vars.js';
import { createPrivateDataDir, projectDir } from './private-data-dir.js';
import { Redactor } from './redact.js';
import { JobSandbox } from './sandbox/job-sandbox.js';
import type { JobContext, JobRow, KindResult } from './run-unified-job.js';
import { SyntheticEvents } from './synthetic-events.js';
import { effectiveTimeout } from './job-timeout.js';
import { limitedList, parseListHosts, prepareConstructedUpdate, stripTowervars } from './constructed-inventory.js';

/**
 * An inventory update from a file in a project (source `scm`): `ansible-inventory -i <file>
 * --list` in the project's checkout, then an idempotent import, as AWX's inventory_import:
 * - hosts and groups are created or updated by name; children and memberships added;
 * - `overwrite`: hosts, groups, memberships and children absent from the source are removed;
 * - `overwrite_vars`: variables are replaced by the source's, otherwise merged over them.
 * `source_vars` become the inventory script's environment (sourceVarsEnv).
 * A constructed inventory's source (`constructed`) lists its input inventories through the
 * constructed plugin instead (constructed-inventory.ts), in the private data dir.
 * ansible-inventory runs in the update's sandbox: its private data dir (HOME) and the
 * project's checkout, read-only; an inventory script is the project's code and sees
 * nothing else of the controller.
 * Output is verbose events (the update's wrapup is EOF).
 */
const exec = promisify(execFile);

interface ImportData { hosts: Map<string, Record<string, unknown>>; groups: Map<string, { vars: Record<string, unknown>; hosts: string[]; children: string[] }> }

export async function runInventoryUpdate(ctx: JobContext, job: JobRow, setPusher: (p: EventPusher) => void): Promise<KindResult> {
  const pusher = new EventPusher(ctx.redis, redisKeys(ctx.config).callbackQueue, jobKinds.inventory_update.refField, job.id,
    job.created, new Redactor([]));
  setPusher(pusher);
  const ev = new SyntheticEvents(pusher);
  const { rows: [source] } = await ctx.pool.query('SELECT * FROM inventory_sources WHERE id = $1', [job.inventory_source_id]);
  const constructed = source.source === 'constructed';
  if (!constructed && (source.source !== 'scm' || !source.source_project_id)) {
    return { final: { status: 'error', jobExplanation: `inventory source type "${source.source}" is not supported` } };
  }
  // AWX's names for the update and its source, which inventory scripts written for AWX read.
  const set: Record<string, string> = { ANSIBLE_INVENTORY_UNPARSED_FAILED: 'True', INVENTORY_SOURCE_ID: String(source.id), INVENTORY_UPDATE_ID: String(job.id) };
  const privateDir = createPrivateDataDir(ctx.config.dataDir, job.id);
  let cwd: string;
  let inventoryArgs: string[];
  let injected: Record<string, string> = {};
  let readonly: string[] = [];
  if (constructed) {
    let plan;
    try {
      plan = await prepareConstructedUpdate(ctx.pool, privateDir, job.inventory_id, source.source_vars);
    } catch (err) {
      return { final: { status: 'error', jobExplanation: (err as Error).message } };
    }
    cwd = privateDir;
    inventoryArgs = plan.inventoryArgs;
    Object.assign(set, plan.env);
    ev.emit('verbose', `Running ansible-inventory over ${plan.inputs} input inventories with the constructed plugin`);
  } else {
    const { rows: [project] } = await ctx.pool.query('SELECT id, name, local_path FROM projects WHERE id = $1', [source.source_project_id]);
    cwd = projectDir(ctx.config.dataDir, project);
    if (!fs.existsSync(cwd)) return { final: { status: 'error', jobExplanation: `project directory ${cwd} does not exist: update the project` } };
    inventoryArgs = ['-i', path.join(cwd, source.source_path || 'inventory')];
    injected = sourceVarsEnv(source.source_vars, set);
    readonly = [cwd];
    ev.emit('verbose', `Running ansible-inventory -i ${source.source_path} --list`);
  }
  const sandbox = await JobSandbox.open(ctx.pool, ctx.config, { privateDir, readonly });
  const timeout = (await effectiveTimeout(ctx.pool, job.kind, job.timeout)) * 1000;
  const run = async (program: string, args: string[]) => {
    const cmd = sandbox.command(program, args, { cwd });
    return exec(cmd.file, cmd.args, { cwd, maxBuffer: 256 << 20, timeout, env: sandbox.env({ injected, set }) });
  };
  let listed: Record<string, any>;
  try {
    const { stdout, stderr } = await run('ansible-inventory', [...inventoryArgs, '--list', '--export']);
    // Warnings (a group that did not parse, a deprecated option) are part of the update's output.
    emitLines(ev, stderr);
    listed = JSON.parse(stdout);
    if (constructed && source.limit) {
      const { stdout: selected } = await run('ansible', ['all', ...inventoryArgs, '--limit', source.limit, '--list-hosts']);
      const keep = parseListHosts(selected);
      ev.emit('verbose', `limit ${source.limit} selects ${keep.size} hosts`);
      listed = limitedList(listed, keep);
    }
  } catch (err) {
    const text = String((err as { stderr?: string }).stderr || (err as Error).message);
    emitLines(ev, text);
    // Ansible's own `ERROR! …` (or the first lines of what it printed) explains the failure, as in AWX.
    const lines = stripAnsi(text).split('\n').map((l) => l.trimEnd()).filter(Boolean);
    const from = Math.max(0, lines.findIndex((l) => l.startsWith('ERROR!')));
    return { final: { status: 'failed', jobExplanation: `ansible-inventory failed: ${lines.slice(from, from + 8).join('\n')}`.slice(0, 1024) } };
  }
  const data = parseInventoryList(listed);
  const counts = await withTransaction(ctx.pool, (db) => importInventory(db, job.inventory_id, data,
    { overwrite: source.overwrite, overwriteVars: source.overwrite_vars, constructed }));
  ev.emit('verbose', `Imported ${counts.hosts} hosts and ${counts.groups} groups into inventory ${job.inventory_id}`
    + (counts.removed ? `; removed ${counts.removed}` : ''));
  return { final: { status: 'successful' } };
}

/** Each line of a program's output as its own verbose event, so stdout shows it line by line. */
function emitLines(ev: SyntheticEvents, text: string): void {
  for (const line of text.split('\n')) if (line.trim()) ev.emit('verbose', line.trimEnd());
}

/**
 * An scm source's source_vars reach its inventory script or plugin as environment variables,
 * as in AWX, on top of the update's allowlisted environment (sandbox/env.ts). A name that
 * could change which code runs or where programs find their configuration is refused — the
 * update fails naming it — rather than dropped without a word:
 * - AWX's INV_ENV_VARIABLE_BLOCKED (HOME, USER, _, TERM, PATH), and any name the update's
 *   environment already sets (ANSIBLE_INVENTORY_UNPARSED_FAILED, ...);
 * - loaders and interpreters: LD_*, DYLD_*, GCONV_PATH, PYTHON*, PERL*, RUBY*, NODE_*,
 *   BASH_ENV, ENV, BASH_FUNC_*, SHELLOPTS, PS4, IFS, OPENSSL_CONF/ENGINES/MODULES;
 * - ANSIBLE_* (ANSIBLE_CONFIG, plugin and library paths, vault password scripts), which AWX
 *   refuses in credential types' environment for the same reason;
 * - GIT_*, SSH_*, and names AWX and Playstream use for jobs (AWX_*, PLAYSTREAM_*, RUNNER_*);
 * - anything that is not an environment variable name.
 * A refused name throws PlaystreamError PS_ERR_VALIDATION (the update ends in error with the
 * reason); sourceVarsProblems() gives the same verdicts without throwing.
 */
const AWX_BLOCKED = new Set(['HOME', 'USER', '_', 'TERM', 'PATH']);
const REFUSED_EXACT = new Set(['BASH_ENV', 'ENV', 'SHELLOPTS', 'BASHOPTS', 'PS4', 'IFS', 'CDPATH', 'GLOBIGNORE', 'PROMPT_COMMAND',
  'GCONV_PATH', 'LOCPATH', 'NLSPATH', 'HOSTALIASES', 'OPENSSL_CONF', 'OPENSSL_ENGINES', 'OPENSSL_MODULES', 'TMPDIR', 'SHELL']);
const REFUSED_PREFIX = /^(LD_|DYLD_|PYTHON|PERL|RUBY|NODE_|BASH_FUNC_|ANSIBLE_|GIT_|SSH_|AWX_|PLAYSTREAM_|RUNNER_|MALLOC_|GLIBC_)/;

export function sourceVarsProblems(vars: Record<string, unknown>, alreadySet: Record<string, string> = {}): string[] {
  const problems: string[] = [];
  for (const k of Object.keys(vars)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) problems.push(`${JSON.stringify(k)} is not an environment variable name`);
    else if (AWX_BLOCKED.has(k) || REFUSED_EXACT.has(k) || REFUSED_PREFIX.test(k)) problems.push(`\`${k}\` is a prohibited environment variable`);
    else if (Object.hasOwn(alreadySet, k)) problems.push(`\`${k}\` is set by Playstream for the update`);
  }
  return problems;
}

export function sourceVarsEnv(text: string, alreadySet: Record<string, string> = {}): Record<string, string> {
  const vars = parseVars(text, 'source_vars');
  const problems = sourceVarsProblems(vars, alreadySet);
  if (problems.length) throw new PlaystreamError('PS_ERR_VALIDATION', `source_vars refused: ${problems.join('; ')}`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(vars)) {
    if (v === null || v === undefined) continue;
    out[k] = typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
  return out;
}

/** `ansible-inventory --list` JSON → hosts with vars, groups with vars/hosts/children. */
export function parseInventoryList(listed: Record<string, any>): ImportData {
  const hostvars: Record<string, Record<string, unknown>> = listed._meta?.hostvars ?? {};
  const hosts = new Map<string, Record<string, unknown>>();
  const groups: ImportData['groups'] = new Map();
  for (const [name, g] of Object.entries(listed)) {
    if (name === '_meta') continue;
    for (const h of g.hosts ?? []) hosts.set(h, hostvars[h] ?? {});
    if (name === 'all' || name === 'ungrouped') continue;
    groups.set(name, { vars: g.vars ?? {}, hosts: g.hosts ?? [], children: (g.children ?? []).filter((c: string) => c !== 'ungrouped') });
  }
  for (const [h, v] of Object.entries(hostvars)) if (!hosts.has(h)) hosts.set(h, v);
  return { hosts, groups };
}

export async function importInventory(db: pg.PoolClient, inventoryId: number, data: ImportData,
  opts: { overwrite: boolean; overwriteVars: boolean; constructed?: boolean }): Promise<{ hosts: number; groups: number; removed: number }> {
  const { rows: hostRows } = await db.query<{ id: number; name: string; variables: string }>(
    'SELECT id, name, variables FROM hosts WHERE inventory_id = $1', [inventoryId]);
  const { rows: groupRows } = await db.query<{ id: number; name: string; variables: string }>(
    'SELECT id, name, variables FROM groups WHERE inventory_id = $1', [inventoryId]);
  const mergeVars = (old: string, incoming: Record<string, unknown>) => {
    if (opts.overwriteVars) return incoming;
    let prev: Record<string, unknown> = {};
    try { prev = (YAML.parse(old || '{}') ?? {}) as Record<string, unknown>; } catch { /* unparsable old vars are replaced */ }
    return { ...prev, ...incoming };
  };
  const text = (v: Record<string, unknown>) => (Object.keys(v).length ? JSON.stringify(v) : '');
  const hostId = new Map<string, number>();
  const oldHosts = new Map(hostRows.map((h) => [h.name, h]));
  for (const [name, listedVars] of data.hosts) {
    const old = oldHosts.get(name);
    // A constructed inventory's host keeps the stored host it came from as its instance_id (AWX).
    const { vars, instanceId } = opts.constructed ? stripTowervars(listedVars) : { vars: listedVars, instanceId: '' };
    const { rows: [r] } = await db.query<{ id: number }>(
      `INSERT INTO hosts (name, inventory_id, variables, instance_id) VALUES ($1, $2, $3, $4)
       ON CONFLICT (inventory_id, name) DO UPDATE SET variables = EXCLUDED.variables,
         instance_id = CASE WHEN $5 THEN EXCLUDED.instance_id ELSE hosts.instance_id END, modified = now() RETURNING id`,
      [name, inventoryId, text(mergeVars(old?.variables ?? '', vars)), instanceId, !!opts.constructed]);
    hostId.set(name, r.id);
  }
  const groupId = new Map<string, number>();
  const oldGroups = new Map(groupRows.map((g) => [g.name, g]));
  for (const [name, g] of data.groups) {
    const { rows: [r] } = await db.query<{ id: number }>(
      `INSERT INTO groups (name, inventory_id, variables) VALUES ($1, $2, $3)
       ON CONFLICT (inventory_id, name) DO UPDATE SET variables = EXCLUDED.variables, modified = now() RETURNING id`,
      [name, inventoryId, text(mergeVars(oldGroups.get(name)?.variables ?? '', g.vars))]);
    groupId.set(name, r.id);
  }
  const memberPairs: [number, number][] = [];
  const childPairs: [number, number][] = [];
  for (const [name, g] of data.groups) {
    for (const h of g.hosts) if (hostId.has(h)) memberPairs.push([groupId.get(name)!, hostId.get(h)!]);
    for (const c of g.children) if (groupId.has(c)) childPairs.push([groupId.get(name)!, groupId.get(c)!]);
  }
  await db.query(`INSERT INTO group_hosts (group_id, host_id) SELECT * FROM unnest($1::bigint[], $2::bigint[]) ON CONFLICT DO NOTHING`,
    [memberPairs.map((p) => p[0]), memberPairs.map((p) => p[1])]);
  await db.query(`INSERT INTO group_children (parent_id, child_id) SELECT * FROM unnest($1::bigint[], $2::bigint[]) ON CONFLICT DO NOTHING`,
    [childPairs.map((p) => p[0]), childPairs.map((p) => p[1])]);
  let removed = 0;
  if (opts.overwrite) {
    removed += (await db.query('DELETE FROM hosts WHERE inventory_id = $1 AND NOT (id = ANY($2))', [inventoryId, [...hostId.values()]])).rowCount ?? 0;
    removed += (await db.query('DELETE FROM groups WHERE inventory_id = $1 AND NOT (id = ANY($2))', [inventoryId, [...groupId.values()]])).rowCount ?? 0;
    await db.query(`DELETE FROM group_hosts gh USING groups g WHERE gh.group_id = g.id AND g.inventory_id = $1
                      AND NOT ((gh.group_id, gh.host_id) IN (SELECT * FROM unnest($2::bigint[], $3::bigint[])))`,
      [inventoryId, memberPairs.map((p) => p[0]), memberPairs.map((p) => p[1])]);
    await db.query(`DELETE FROM group_children gc USING groups g WHERE gc.parent_id = g.id AND g.inventory_id = $1
                      AND NOT ((gc.parent_id, gc.child_id) IN (SELECT * FROM unnest($2::bigint[], $3::bigint[])))`,
      [inventoryId, childPairs.map((p) => p[0]), childPairs.map((p) => p[1])]);
  }
  return { hosts: hostId.size, groups: groupId.size, removed };
}
