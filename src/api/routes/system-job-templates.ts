import { launchSystemJob } from '../../scheduler/launch.js';
import { systemJobVarProblems } from '../../scheduler/system-job-vars.js';
import { parseVars } from '../../scheduler/vars.js';
import { PlaystreamError } from '../../errors.js';
import { recordActivity } from '../../db/activity.js';
import { requireCaller } from '../auth.js';
import type { ApiContext } from '../context.js';
import { getObject, loadRow, resolveId } from '../engine/crud.js';
import type { Row } from '../engine/resource.js';
import { registerSubList } from '../engine/routes.js';
import { badRequest, forbidden, jsonBody, type Router } from '../http.js';
import { schedules, systemJobTemplates } from '../resources/cluster.js';
import { systemJobs } from '../resources/unified-jobs.js';

/**
 * Management jobs (AWX's SystemJobTemplateLaunch, ...SchedulesList, ...JobsList): the
 * seeded templates (migration 0901) are launched by superusers only, with `extra_vars`
 * holding `days` where the kind takes it (system-job-vars.ts: anything else is a 400 under
 * extra_vars, where AWX would launch and ignore it).
 */
export function registerSystemJobTemplates(router: Router<ApiContext>): void {
  router.get('/api/v2/system_job_templates/:id/launch/', async (req, ctx) => {
    const caller = await requireCaller(req, ctx);
    await loadRow(ctx, systemJobTemplates, caller, await resolveId(ctx, systemJobTemplates, req.params.id));
    return { status: 200, body: {} };
  });
  router.post('/api/v2/system_job_templates/:id/launch/', async (req, ctx) => {
    const caller = await requireCaller(req, ctx);
    const template = await loadRow(ctx, systemJobTemplates, caller, await resolveId(ctx, systemJobTemplates, req.params.id));
    // SystemJobTemplateAccess.can_start: superusers only; auditors read the templates but start nothing.
    if (!caller.grants.superuser) throw forbidden();
    const body = jsonBody<Row>(req) ?? {};
    if (typeof body !== 'object' || Array.isArray(body)) throw badRequest({ detail: 'Expected a JSON object.' });
    let vars: Record<string, unknown>;
    try {
      vars = parseVars(body.extra_vars);
    } catch (err) {
      if (err instanceof PlaystreamError) throw badRequest({ extra_vars: [err.message] });
      throw err;
    }
    const problems = systemJobVarProblems(template.job_type as string, vars);
    if (problems.length) throw badRequest({ extra_vars: problems });
    const id = await launchSystemJob(ctx.pool, template.id as number, { userId: caller.user.id, launchType: 'manual', extraVars: vars });
    await recordActivity(ctx.pool, ctx.config.nodeName, { actorId: caller.user.id, operation: 'create', object1: 'system_job', object1Id: id,
      object2: 'system_job_template', object2Id: template.id as number, changes: { launched: true } });
    const job = await getObject(ctx, systemJobs, caller, id);
    return { status: 201, body: { system_job: id, ...job } };
  });
  registerSubList(router, systemJobTemplates, 'jobs', systemJobs, { condition: (p) => `t.unified_job_template_id = ${p}` });
  registerSubList(router, systemJobTemplates, 'schedules', schedules, { condition: (p) => `t.unified_job_template_id = ${p}`,
    createWith: (s) => ({ unified_job_template: s.id }) });
}
