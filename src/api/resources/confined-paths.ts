import fs from 'node:fs';
import path from 'node:path';
import { projectDir } from '../../scheduler/private-data-dir.js';
import { discoverPlaybooks } from '../../scheduler/project-update.js';
import type { ApiContext } from '../context.js';
import type { Queryable } from '../engine/resource.js';
import { badRequest } from '../http.js';

/**
 * Paths an API client names on disk stay inside their root, or the write is a 400 naming
 * the field: a project's `local_path` is one directory of <dataDir>/projects not used by
 * another project; a template's `playbook` and an inventory source's `source_path` are
 * files of their project's checkout. Checked lexically (no absolute path, no `..`) and
 * then on disk, following every symlink that exists now — a dangling one by its target —
 * so a checkout cannot point outside itself by a link it already holds. The checkout can
 * change with its next update: that is the job sandbox's to contain, this is the API's
 * refusal of what it can already see.
 */
const MAX_LINK_HOPS = 40;

/** The generated checkout names (`_<id>__<name>`, scheduler/private-data-dir.ts) belong to their project. */
const GENERATED_LOCAL_PATH = /^_(\d+)__/;

export function projectsRoot(ctx: ApiContext): string {
  return path.join(ctx.config.dataDir, 'projects');
}

/** `p` with every symlink that exists resolved, including a last one whose target does not exist. */
function realPathOf(p: string, hops = 0): string {
  try {
    return fs.realpathSync(p);
  } catch {
    const parent = path.dirname(p);
    if (parent === p) return p;
    const here = path.join(realPathOf(parent, hops), path.basename(p));
    let link: string;
    try {
      if (!fs.lstatSync(here).isSymbolicLink()) return here;
      link = fs.readlinkSync(here);
    } catch {
      return here;
    }
    if (hops >= MAX_LINK_HOPS) throw new Error('too many levels of symbolic links');
    return realPathOf(path.resolve(path.dirname(here), link), hops + 1);
  }
}

function isInside(root: string, p: string, allowRoot: boolean): boolean {
  return (allowRoot && p === root) || p.startsWith(root.endsWith(path.sep) ? root : root + path.sep);
}

/** The lexical rules every confined path obeys; returns the problem, if any. */
function lexicalProblem(rel: string): string | undefined {
  if (rel.includes('\0')) return 'must not contain NUL characters.';
  if (path.isAbsolute(rel) || rel.startsWith('\\')) return 'must be a relative path.';
  if (rel.split(/[/\\]/).includes('..')) return 'must not contain "..".';
  return undefined;
}

/**
 * Throws a 400 naming `field` unless `rel` resolves inside `root` (following the links that
 * exist); `root` itself counts only for checkout files, never for a local_path, whose
 * directory an update cleans.
 */
function requireInside(root: string, rel: string, field: string, what: string): void {
  const problem = lexicalProblem(rel);
  if (problem) throw badRequest({ [field]: [`${what} ${problem}`] });
  let inside: boolean;
  try {
    inside = isInside(realPathOf(root), realPathOf(path.join(root, rel)), field !== 'local_path');
  } catch {
    inside = false;
  }
  if (!inside) throw badRequest({ [field]: [`${what} resolves outside ${field === 'local_path' ? 'the projects directory' : 'the project'}.`] });
}

/**
 * A project's local_path: '' (the generated checkout), or one directory name under the
 * projects root that is not another project's (AWX offers only unused directories), so an
 * update never cleans or overwrites someone else's checkout, or anything outside the root.
 */
export async function checkLocalPath(ctx: ApiContext, db: Queryable, value: string, projectId: number | undefined): Promise<void> {
  if (value === '') return;
  if (value === '.' || value.startsWith('.') || /[/\\]/.test(value)) {
    throw badRequest({ local_path: ['Local path must be the name of one directory in the projects directory.'] });
  }
  requireInside(projectsRoot(ctx), value, 'local_path', 'Local path');
  const generated = GENERATED_LOCAL_PATH.exec(value);
  const { rowCount } = await db.query('SELECT 1 FROM projects WHERE local_path = $1 AND id IS DISTINCT FROM $2', [value, projectId ?? null]);
  if (rowCount || (generated && Number(generated[1]) !== projectId)) {
    throw badRequest({ local_path: ['This path is already being used by another project.'] });
  }
}

async function checkoutOf(ctx: ApiContext, projectId: number): Promise<string | undefined> {
  const { rows: [project] } = await ctx.pool.query('SELECT id, name, local_path FROM projects WHERE id = $1', [projectId]);
  return project ? projectDir(ctx.config.dataDir, { id: Number(project.id), name: project.name, local_path: project.local_path }) : undefined;
}

/**
 * A template's playbook: a file of its project's checkout, and one of the project's
 * playbooks as AWX's JobOptionsSerializer.validate requires ("Playbook not found for
 * project."): for a source-control project that does not allow a branch override, one of
 * the `playbook_files` its last update found; for a manual project, one found in its
 * directory now. A source-control project never updated yet has no list to check against
 * (AWX refuses every playbook then); its jobs update it first and fail on a missing file.
 */
export async function playbookInProject(ctx: ApiContext, projectId: number, playbook: string): Promise<string> {
  const dir = await checkoutOf(ctx, projectId);
  if (dir) requireInside(dir, playbook, 'playbook', 'Playbook');
  const { rows: [p] } = await ctx.pool.query(
    'SELECT scm_type, allow_override, scm_revision, playbook_files FROM projects WHERE id = $1', [projectId]);
  if (!p) return playbook;
  let listed: string[] | undefined;
  if (p.scm_type && !p.allow_override && p.scm_revision) listed = Array.isArray(p.playbook_files) ? p.playbook_files : [];
  else if (!p.scm_type && dir && fs.existsSync(dir)) listed = discoverPlaybooks(dir);
  if (listed && !listed.includes(playbook)) throw badRequest({ playbook: ['Playbook not found for project.'] });
  return playbook;
}

/** An inventory source's source_path: a file (or directory) of its source project's checkout. */
export async function sourcePathInProject(ctx: ApiContext, projectId: number | null, sourcePath: string): Promise<string> {
  const problem = lexicalProblem(sourcePath);
  if (problem) throw badRequest({ source_path: [`Source path ${problem}`] });
  const dir = projectId == null ? undefined : await checkoutOf(ctx, projectId);
  if (dir) requireInside(dir, sourcePath, 'source_path', 'Source path');
  return sourcePath;
}
