import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type pg from 'pg';
import YAML from 'yaml';
import { stripAnsi } from '../pipeline/stdout-stream.js';
import { withTransaction } from '../db/pool.js';
import { PlaystreamError } from '../errors.js';
import type { EventPusher } from './event-push.js';
import { parseVars } from './vars.js';
import { createPrivateDataDir, projectDir } from './private-data-dir.js';
import { ensureProjectCheckout } from './project-sync.js';
import { JobSandbox } from './sandbox/job-sandbox.js';
import { ENV_NAME, isSandboxSensitiveEnvName } from './sandbox/env-names.js';
import type { JobContext, JobRow, KindResult } from './job-context.js';
import { recordSyncActivity } from '../db/activity.js';
import { hostLimitProblem } from '../db/host-limit.js';
import { SyntheticEvents } from './synthetic-events.js';
import { effectiveTimeout } from './job-timeout.js';
import { loadCredentialInputs } from '../db/credentials.js';
import type { CredentialTypeInjectors, CredentialTypeInputs } from '../db/managed-credential-types.js';
import { injectCredentials } from './credential-injection.js';
import { cloudSources, writeCloudSourceFiles, type SourceCredential } from './inventory-sources/cloud-sources.js';
import { compileHostFilter, filterImport, hostEnabled, hostInstanceId, type ImportData } from './inventory-sources/import-options.js';
import { limitedList, parseListHosts, prepareConstructedUpdate, stripTowervars } from './constructed-inventory.js';

/**
 * An inventory update: `ansible-inventory --list --export` in the update's sandbox, then an
 * idempotent import, as AWX's RunInventoryUpdate and inventory_import:
 * - `scm`: the inventory file, directory or script at `source_path` in the project's checkout
 *   (read-only); `source_vars` become its environment (sourceVarsEnv); the source's credential,
 *   if any, is injected as for a job (environment only);
 * - a cloud source (inventory-sources/cloud-sources.ts): the plugin configuration and the
 *   credential injection AWX's injector for that source produces, in the private data dir;
 * - `constructed` (a constructed inventory's own source): its input inventories listed through
 *   the constructed plugin (constructed-inventory.ts), in the private data dir; its `limit`
 *   chosen by `ansible --list-hosts`, towervars stripped and kept as each host's instance_id;
 * - `verbosity` 1 → -vvv, 2 → -vvvvv, as AWX maps it; `limit` (AWX passes `--limit`) is refused:
 *   the ansible-inventory of Debian's ansible-core 2.14 has no --limit (inventory-source-rules.ts);
 * - import (importInventory): hosts and groups are created or updated by name; children and
 *   memberships added; `overwrite` removes hosts, groups, memberships and children absent from
 *   the source; `overwrite_vars` replaces variables instead of merging over them; `host_filter`,
 *   `enabled_var`/`enabled_value`, the source's instance id variable and its empty-group rule
 *   as inventory-sources/import-options.ts applies them.
 * Every secret of the credential is redacted from the update's output.
 * Output is verbose events (the update's wrapup is EOF).
 */
const exec = promisify(execFile);

/** AWX's STANDARD_INVENTORY_UPDATE_ENV. */
const STANDARD_ENV = { ANSIBLE_INVENTORY_UNPARSED_FAILED: 'True', ANSIBLE_INVENTORY_EXPORT: 'True', ANSIBLE_VERBOSE_TO_STDERR: 'True',
  ANSIBLE_HOST_PATTERN_MISMATCH: 'error' };

export async function runInventoryUpdate(ctx: JobContext, job: JobRow, pusher: EventPusher): Promise<KindResult> {
  const { rows: [source] } = await ctx.pool.query('SELECT * FROM inventory_sources WHERE id = $1', [job.inventory_source_id]);
  const cloud = cloudSources[source.source];
  const credential = job.credential_id ? await loadSourceCredential(ctx, Number(job.credential_id)) : null;
  pusher.redactor.add(credential?.secrets ?? []);
  const ev = new SyntheticEvents(pusher);
  const constructed = source.source === 'constructed';
  if (source.source !== 'scm' && !cloud && !constructed) {
    return { final: { status: 'error', jobExplanation: `inventory source type "${source.source}" is not supported` } };
  }
  const privateDir = createPrivateDataDir(ctx.config.dataDir, job.id);
  // AWX's names for the update and its source, which inventory scripts and plugins written for AWX read.
  const set: Record<string, string> = { ...STANDARD_ENV, INVENTORY_SOURCE_ID: String(source.id), INVENTORY_UPDATE_ID: String(job.id) };
  let injected: Record<string, string> = {};
  let inventoryArgs: string[];
  let cwd: string;
  let described: string;
  const readonly: string[] = [];
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
    described = `over ${plan.inputs} input inventories with the constructed plugin`;
  } else if (cloud) {
    if (!credential && !cloud.credentialOptional) return { final: { status: 'error', jobExplanation: 'Credential is required for a cloud source.' } };
    const files = writeCloudSourceFiles(source.source, parseVars(source.source_vars, 'source_vars'), credential?.source ?? null, privateDir);
    Object.assign(set, files.set);
    injected = files.env;
    inventoryArgs = ['-i', files.pluginFile];
    cwd = privateDir;
    described = `-i ${path.relative(privateDir, files.pluginFile)}`;
  } else {
    if (!source.source_project_id) return { final: { status: 'error', jobExplanation: 'An scm inventory source needs a source_project' } };
    const { rows: [project] } = await ctx.pool.query(
      'SELECT id, name, local_path, scm_type, scm_revision, organization_id FROM projects WHERE id = $1', [source.source_project_id]);
    if (!project) return { final: { status: 'error', jobExplanation: 'The source project of this inventory source no longer exists' } };
    // The source's files from this node's checkout at the project's revision, synced here first when it is not (project-sync.ts).
    const unsynced = await ensureProjectCheckout(ctx, job, project);
    if (unsynced) return { final: unsynced };
    cwd = projectDir(ctx.config.dataDir, project);
    if (!fs.existsSync(cwd)) return { final: { status: 'error', jobExplanation: `project directory ${cwd} does not exist: update the project` } };
    inventoryArgs = ['-i', path.join(cwd, source.source_path || 'inventory')];
    readonly.push(cwd);
    const fromCredential = credential
      ? (await injectCredentials(ctx.pool, ctx.secrets, [credential.source.id], privateDir, {}, { forInventory: true })).env : {};
    injected = { ...fromCredential, ...sourceVarsEnv(source.source_vars, set) };
    described = `-i ${source.source_path}`;
  }
  // A constructed source's limit is its own (applied below); an update's --limit has no ansible-inventory to take it.
  if (job.limit && !constructed) return { final: { status: 'error', jobExplanation: 'limit is not supported on inventory updates: this ansible-inventory has no --limit' } };
  const verbose = job.verbosity > 0 ? [`-${'v'.repeat(Math.min(5, job.verbosity * 2 + 1))}`] : [];
  const sandbox = await JobSandbox.open(ctx.pool, ctx.config, { privateDir, readonly });
  const timeout = (await effectiveTimeout(ctx.pool, job.kind, job.timeout)) * 1000;
  const run = async (program: string, args: string[]) => {
    const cmd = sandbox.command(program, args, { cwd });
    return exec(cmd.file, cmd.args, { cwd, maxBuffer: 256 << 20, timeout, env: sandbox.env({ injected, set }) });
  };
  ev.emit('verbose', `Running ansible-inventory ${described} --list`);
  let listed: Record<string, any>;
  try {
    const { stdout, stderr } = await run('ansible-inventory', [...inventoryArgs, '--list', '--export', ...verbose]);
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
    const explanation = `ansible-inventory failed: ${lines.slice(from, from + 8).join('\n')}`.slice(0, 1024);
    return { final: { status: 'failed', jobExplanation: pusher.redactor.text(explanation) } };
  }
  const data = filterImport(parseInventoryList(listed), { hostFilter: compileHostFilter(source.host_filter),
    excludeEmptyGroups: cloud?.excludeEmptyGroups ?? false });
  let counts: Awaited<ReturnType<typeof importInventory>>;
  try {
    counts = await withTransaction(ctx.pool, async (db) => {
      const imported = await importInventory(db, job.inventory_id, data, {
        overwrite: source.overwrite, overwriteVars: source.overwrite_vars, constructed,
        enabledVar: source.enabled_var || cloud?.enabledVar || '', enabledValue: source.enabled_var ? source.enabled_value : cloud?.enabledValue ?? '',
        instanceIdVar: cloud?.instanceIdVar ?? '' });
      await recordSyncActivity(db, ctx.config.nodeName, job.inventory_id, imported.changed);
      return imported;
    });
  } catch (err) {
    // The organization's max_hosts: nothing imported, the update fails saying why.
    if (!(err instanceof PlaystreamError && err.code === 'PS_ERR_VALIDATION')) throw err;
    ev.emit('verbose', err.message);
    return { final: { status: 'failed', jobExplanation: err.message } };
  }
  ev.emit('verbose', `Imported ${counts.hosts} hosts and ${counts.groups} groups into inventory ${job.inventory_id}`
    + (counts.removed ? `; removed ${counts.removed}` : ''));
  return { final: { status: 'successful' } };
}

/** The update's credential with its type and decrypted inputs, and the secrets to redact. */
async function loadSourceCredential(ctx: JobContext, id: number): Promise<{ source: SourceCredential; secrets: string[] } | null> {
  const { rows: [row] } = await ctx.pool.query<{ namespace: string | null; managed: boolean; inputs: CredentialTypeInputs; injectors: CredentialTypeInjectors }>(
    `SELECT t.namespace, t.managed, t.inputs, t.injectors FROM credentials c JOIN credential_types t ON t.id = c.credential_type_id WHERE c.id = $1`, [id]);
  if (!row) return null;
  const values = await loadCredentialInputs(ctx.pool, ctx.secrets, id);
  const secrets = (row.inputs.fields ?? []).filter((f) => f.secret && typeof values[f.id] === 'string').map((f) => values[f.id] as string);
  return { source: { id, ...row, values }, secrets };
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

export function sourceVarsProblems(vars: Record<string, unknown>, alreadySet: Record<string, string> = {}): string[] {
  const problems: string[] = [];
  for (const k of Object.keys(vars)) {
    if (!ENV_NAME.test(k)) problems.push(`${JSON.stringify(k)} is not an environment variable name`);
    else if (AWX_BLOCKED.has(k) || isSandboxSensitiveEnvName(k)) problems.push(`\`${k}\` is a prohibited environment variable`);
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

type SyncChange = Parameters<typeof recordSyncActivity>[3][number];

export async function importInventory(db: pg.PoolClient, inventoryId: number, data: ImportData,
  opts: { overwrite: boolean; overwriteVars: boolean; enabledVar?: string; enabledValue?: string; instanceIdVar?: string; constructed?: boolean }):
  Promise<{ hosts: number; groups: number; removed: number; changed: SyncChange[] }> {
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
  const overLimit = await hostLimitProblem(db, inventoryId, [...data.hosts.keys()]);
  if (overLimit) throw new PlaystreamError('PS_ERR_VALIDATION', overLimit);
  const changed: SyncChange[] = [];
  const hostId = new Map<string, number>();
  const oldHosts = new Map(hostRows.map((h) => [h.name, h]));
  for (const [name, listedVars] of data.hosts) {
    const old = oldHosts.get(name);
    // A constructed inventory's host keeps the stored host it came from as its instance_id (AWX).
    const stripped = opts.constructed ? stripTowervars(listedVars) : { vars: listedVars, instanceId: '' };
    const vars = stripped.vars;
    // A host whose variables say nothing of enabled_var keeps its state (AWX: enabled is None).
    const enabled = hostEnabled(vars, opts.enabledVar ?? '', opts.enabledValue ?? '');
    const instanceId = opts.constructed ? stripped.instanceId : opts.instanceIdVar ? hostInstanceId(vars, opts.instanceIdVar) : '';
    const { rows: [r] } = await db.query<{ id: string }>(
      `INSERT INTO hosts (name, inventory_id, variables, enabled, instance_id) VALUES ($1, $2, $3, COALESCE($4::boolean, true), $5)
       ON CONFLICT (inventory_id, name) DO UPDATE SET variables = EXCLUDED.variables, enabled = COALESCE($4::boolean, hosts.enabled),
         instance_id = CASE WHEN $5 = '' AND NOT $6 THEN hosts.instance_id ELSE $5 END, modified = now() RETURNING id`,
      [name, inventoryId, text(mergeVars(old?.variables ?? '', vars)), enabled, instanceId, !!opts.constructed]);
    hostId.set(name, Number(r.id));
    if (!old) changed.push({ operation: 'create', object1: 'host', id: Number(r.id), name });
  }
  const groupId = new Map<string, number>();
  const oldGroups = new Map(groupRows.map((g) => [g.name, g]));
  for (const [name, g] of data.groups) {
    const { rows: [r] } = await db.query<{ id: string }>(
      `INSERT INTO groups (name, inventory_id, variables) VALUES ($1, $2, $3)
       ON CONFLICT (inventory_id, name) DO UPDATE SET variables = EXCLUDED.variables, modified = now() RETURNING id`,
      [name, inventoryId, text(mergeVars(oldGroups.get(name)?.variables ?? '', g.vars))]);
    groupId.set(name, Number(r.id));
    if (!oldGroups.has(name)) changed.push({ operation: 'create', object1: 'group', id: Number(r.id), name });
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
    for (const object1 of ['host', 'group'] as const) {
      const { rows } = await db.query<{ id: string; name: string }>(
        `DELETE FROM ${object1}s WHERE inventory_id = $1 AND NOT (id = ANY($2)) RETURNING id, name`,
        [inventoryId, [...(object1 === 'host' ? hostId : groupId).values()]]);
      removed += rows.length;
      for (const r of rows) changed.push({ operation: 'delete', object1, id: Number(r.id), name: r.name });
    }
    await db.query(`DELETE FROM group_hosts gh USING groups g WHERE gh.group_id = g.id AND g.inventory_id = $1
                      AND NOT ((gh.group_id, gh.host_id) IN (SELECT * FROM unnest($2::bigint[], $3::bigint[])))`,
      [inventoryId, memberPairs.map((p) => p[0]), memberPairs.map((p) => p[1])]);
    await db.query(`DELETE FROM group_children gc USING groups g WHERE gc.parent_id = g.id AND g.inventory_id = $1
                      AND NOT ((gc.parent_id, gc.child_id) IN (SELECT * FROM unnest($2::bigint[], $3::bigint[])))`,
      [inventoryId, childPairs.map((p) => p[0]), childPairs.map((p) => p[1])]);
  }
  return { hosts: hostId.size, groups: groupId.size, removed, changed };
}
