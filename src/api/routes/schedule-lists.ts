import { requireLink } from '../access.js';
import { requireCaller } from '../auth.js';
import type { ApiContext } from '../context.js';
import { loadRow, resolveId } from '../engine/crud.js';
import { registerSubList } from '../engine/routes.js';
import { badRequest, type Router } from '../http.js';
import { credentials } from '../resources/credentials.js';
import { instanceGroups, labels, schedules } from '../resources/cluster.js';
import { unifiedJobs } from '../resources/unified-jobs.js';

/**
 * A schedule's association lists (AWX's ScheduleCredentialsList, ScheduleLabelsList,
 * ScheduleInstanceGroupsList). Credentials are implemented: associating one needs the
 * template's ask_credential_on_launch and `use` of the credential, and at most one credential
 * of each type (AWX's LaunchConfigCredentialsBase.is_valid_relation). Labels and instance
 * groups on a schedule are not: their lists read empty and associating is a 400 naming them,
 * never an association stored and ignored.
 */
export function registerScheduleLists(router: Router<ApiContext>): void {
  registerSubList(router, schedules, 'credentials', credentials, {
    condition: (p) => `t.id IN (SELECT credential_id FROM schedule_credentials WHERE schedule_id = ${p})`,
    associate: {
      table: 'schedule_credentials', parentCol: 'schedule_id', childCol: 'credential_id',
      link: async (db, scheduleId, credentialId, caller) => {
        const { rows: [jt] } = await db.query<{ ask_credential_on_launch: boolean }>(
          `SELECT jt.ask_credential_on_launch FROM schedules s JOIN job_templates jt ON jt.id = s.unified_job_template_id WHERE s.id = $1`, [scheduleId]);
        if (!jt?.ask_credential_on_launch) throw badRequest({ msg: 'Related template is not configured to accept credentials on launch.' });
        await requireLink(db, caller.grants, 'schedule', 'credentials', [credentialId]);
        const { rows: [clash] } = await db.query<{ name: string }>(
          `SELECT ct.name FROM credentials c JOIN credential_types ct ON ct.id = c.credential_type_id
            WHERE c.id = $2 AND EXISTS (SELECT 1 FROM schedule_credentials sc JOIN credentials o ON o.id = sc.credential_id
              WHERE sc.schedule_id = $1 AND sc.credential_id <> c.id AND o.credential_type_id = c.credential_type_id
                AND coalesce(o.inputs->>'vault_id', '') = coalesce(c.inputs->>'vault_id', ''))`, [scheduleId, credentialId]);
        if (clash) throw badRequest({ msg: `This launch configuration already provides a ${clash.name} credential.` });
        await db.query('INSERT INTO schedule_credentials (schedule_id, credential_id) VALUES ($1, $2) ON CONFLICT DO NOTHING', [scheduleId, credentialId]);
      },
    },
  });
  // The jobs a schedule launched (AWX's ScheduleUnifiedJobsList), named by its `unified_jobs` related link.
  registerSubList(router, schedules, 'jobs', unifiedJobs, { condition: (p) => `t.schedule_id = ${p}` });
  for (const [name, child] of [['labels', labels], ['instance_groups', instanceGroups]] as const) {
    // Always empty; the parent id is still a bound parameter, as every sub-list's is.
    registerSubList(router, schedules, name, child, { condition: (p) => `${p}::bigint IS NULL` });
    router.post(`/api/v2/schedules/:id/${name}/`, async (req, ctx) => {
      const caller = await requireCaller(req, ctx);
      await loadRow(ctx, schedules, caller, await resolveId(ctx, schedules, req.params.id));
      throw badRequest({ [name]: [`Playstream does not support ${name} on schedules.`] });
    });
  }
}
