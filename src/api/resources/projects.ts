import { launchProjectUpdate } from '../../scheduler/launch.js';
import { checkScmFields } from '../../scheduler/project-git.js';
import { checkSvnFields } from '../../scheduler/project-svn.js';
import { checkArchiveUrl } from '../../scheduler/project-archive.js';
import { requireLinks } from '../access.js';
import { requireEnvironmentRead } from './execution-environments.js';
import { badRequest } from '../http.js';
import { defineResource, type Row } from '../engine/resource.js';
import { bool, fk, grantRole, int, named, ro, text } from './common.js';
import { checkLocalPath } from './confined-paths.js';

/**
 * Projects. Creating an SCM project (or changing its source) starts a project update, as
 * AWX does; `summary_fields.current_update` names it while it runs, which is what the
 * awx.awx `project` module waits on.
 */
export const projects = defineResource({
  key: 'projects', type: 'project', table: 'projects',
  fields: {
    ...named,
    organization: fk('organizations'),
    scm_type: text({ choices: ['', 'git', 'svn', 'insights', 'archive'] }),
    scm_url: text(), scm_branch: text(), scm_refspec: text(), scm_clean: bool(), scm_track_submodules: bool(),
    scm_delete_on_update: bool(), scm_update_on_launch: bool(), scm_update_cache_timeout: int(), allow_override: bool(),
    credential: fk('credentials'), signature_validation_credential: { type: 'int', col: 'NULL::bigint' },
    local_path: text(), timeout: int(),
    scm_revision: ro('text'), status: ro('text'), last_job_run: ro('time'), last_job_failed: ro('bool'),
    playbook_files: ro('json'), inventory_files: ro('json'), default_environment: fk('execution_environments'),
    last_update_failed: ro('bool', { col: 't.last_job_failed' }), last_updated: ro('time', { col: 't.last_job_run' }),
  },
  search: ['name', 'description', 'scm_url'],
  namedUrl: ['name', 'organization.name'],
  access: { roleType: 'project' },
  objectRoles: ['admin_role', 'use_role', 'update_role', 'read_role'],
  related: (r) => {
    const u = `/api/v2/projects/${r.id}/`;
    const out: Record<string, string> = Object.fromEntries(['update', 'playbooks', 'inventory_files', 'project_updates', 'schedules',
      'teams', 'activity_stream', 'access_list', 'object_roles', 'copy', 'notification_templates_started',
      'notification_templates_success', 'notification_templates_error', 'scm_inventory_sources'].map((k) => [k, `${u}${k}/`]));
    if (r.last_job) out.last_update = `/api/v2/project_updates/${r.last_job}/`;
    return out;
  },
  extraSummary: async (ctx, rows) => {
    const { rows: updates } = await ctx.pool.query(
      `SELECT DISTINCT ON (unified_job_template_id) unified_job_template_id AS project, id, name, description, status, failed
         FROM unified_jobs WHERE kind = 'project_update' AND unified_job_template_id = ANY($1::bigint[])
        ORDER BY unified_job_template_id, id DESC`, [rows.map((r) => r.id)]);
    for (const u of updates) {
      const r = rows.find((x) => x.id === u.project)!;
      const { project: _p, ...s } = u;
      (r.summary_fields as Row).last_update = s;
      (r.summary_fields as Row).last_job = s;
      if (['new', 'pending', 'waiting', 'running'].includes(u.status)) {
        (r.summary_fields as Row).current_update = s;
        (r.related as Row).current_update = `/api/v2/project_updates/${u.id}/`;
      }
    }
  },
  prepare: async (ctx, db, data, existing, caller) => {
    await requireLinks(ctx.pool, caller.grants, 'project', data, existing);
    await requireEnvironmentRead(ctx.pool, caller.grants, 'default_environment', data.default_environment, existing?.default_environment);
    if (typeof data.local_path === 'string' && data.local_path !== existing?.local_path) {
      await checkLocalPath(ctx, db, data.local_path, existing?.id as number | undefined);
    }
    const scmType = (data.scm_type ?? existing?.scm_type ?? '') as string;
    if (scmType === 'insights') throw badRequest({ scm_type: ['Red Hat Insights projects are not supported by Playstream.'] });
    if (scmType && !(data.scm_url ?? existing?.scm_url)) throw badRequest({ scm_url: ['SCM URL is required.'] });
    // svn URLs and revisions, archive URLs: what the update would refuse is refused now (project-svn.ts, project-archive.ts).
    if ((scmType === 'svn' || scmType === 'archive') && (data.scm_url !== undefined || data.scm_branch !== undefined || data.scm_type !== undefined)) {
      const url = String(data.scm_url ?? existing?.scm_url ?? '');
      try {
        if (scmType === 'svn') checkSvnFields({ scm_url: url, scm_branch: String(data.scm_branch ?? existing?.scm_branch ?? '') });
        else checkArchiveUrl(url);
      } catch (err) {
        throw badRequest({ [(err as Error).message.startsWith('scm_branch ') ? 'scm_branch' : 'scm_url']: [(err as Error).message] });
      }
    }
    // What a project update would refuse (git options in a URL, branch or refspec) is refused now, naming the field.
    if (scmType === 'git' && (data.scm_url !== undefined || data.scm_branch !== undefined || data.scm_refspec !== undefined)) {
      const f = { scm_url: String(data.scm_url ?? existing?.scm_url ?? ''), scm_branch: String(data.scm_branch ?? existing?.scm_branch ?? ''),
        scm_refspec: String(data.scm_refspec ?? existing?.scm_refspec ?? '') };
      try {
        checkScmFields(f);
      } catch (err) {
        const field = ['scm_url', 'scm_branch', 'scm_refspec'].find((k) => (err as Error).message.startsWith(`${k} `)) ?? 'scm_url';
        throw badRequest({ [field]: [(err as Error).message] });
      }
    }
    if (!scmType && data.local_path === undefined && !existing) data.local_path = '';
    return data;
  },
  afterCreate: async (_ctx, db, id, data, caller) => {
    if (!caller.grants.superuser) await grantRole(db, 'project', id, 'admin_role', caller.user.id);
    if (data.scm_type) await launchProjectUpdate(db, id, { userId: caller.user.id, launchType: 'manual' });
  },
  afterUpdate: async (_ctx, db, id, data, caller) => {
    if (data.scm_url !== undefined || data.scm_branch !== undefined || data.scm_type !== undefined) {
      const { rows } = await db.query('SELECT scm_type, status FROM projects WHERE id = $1', [id]);
      if (rows[0]?.scm_type) await launchProjectUpdate(db, id, { userId: caller.user.id, launchType: 'manual' });
    }
  },
});
projects.fields.last_job = ro('int', { col: 't.last_job_id' });
