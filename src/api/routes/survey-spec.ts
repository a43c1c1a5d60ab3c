import { recordActivity } from '../../db/activity.js';
import { requireCaller } from '../auth.js';
import type { ApiContext } from '../context.js';
import { loadRow, requireObjectPerm, resolveId } from '../engine/crud.js';
import type { ResourceDef, Row } from '../engine/resource.js';
import { badRequest, jsonBody, type Router } from '../http.js';
import { checkSurveySpec, displaySurveySpec, sealSurveySpec, surveyQuestions } from '../survey.js';

/**
 * A template's `survey_spec/` (AWX's SurveySpecView), for job templates and workflow job
 * templates alike: GET shows it (password defaults as $encrypted$) to whoever may read the
 * template, POST replaces it (checked as AWX checks it, survey.ts's checkSurveySpec) and
 * DELETE empties it for its admins. `refuseTypes` names
 * question types a template kind does not implement: such a spec is a 400 naming the
 * question, never stored.
 */
export function registerSurveySpec(router: Router<ApiContext>, def: ResourceDef, opts: { refuseTypes?: Record<string, string> } = {}): void {
  const path = `/api/v2/${def.key}/:id/survey_spec/`;
  router.get(path, async (req, ctx) => {
    const caller = await requireCaller(req, ctx);
    const id = await resolveId(ctx, def, req.params.id);
    await loadRow(ctx, def, caller, id);
    const { rows } = await ctx.pool.query(`SELECT survey_spec FROM ${def.table} WHERE id = $1`, [id]);
    return { status: 200, body: displaySurveySpec(rows[0].survey_spec) };
  });
  router.post(path, async (req, ctx) => {
    const caller = await requireCaller(req, ctx);
    const id = await resolveId(ctx, def, req.params.id);
    await requireObjectPerm(ctx, def, caller, id, 'admin');
    const spec = jsonBody<Row>(req);
    if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) throw badRequest({ error: 'The survey spec must be a JSON object.' });
    const { rows } = await ctx.pool.query(`SELECT survey_spec FROM ${def.table} WHERE id = $1`, [id]);
    const checked = checkSurveySpec(spec, rows[0]?.survey_spec);
    if ('error' in checked) throw badRequest({ error: checked.error });
    surveyQuestions(checked.spec).forEach((q, i) => {
      const why = opts.refuseTypes?.[q.type];
      if (why) throw badRequest({ error: `Survey question ${i} (${q.variable}) of type '${q.type}': ${why}` });
    });
    const sealed = sealSurveySpec(ctx.secrets, checked.spec, rows[0]?.survey_spec);
    await ctx.pool.query(`UPDATE ${def.table} SET survey_spec = $2, modified = now() WHERE id = $1`, [id, JSON.stringify(sealed)]);
    await recordActivity(ctx.pool, ctx.config.nodeName, { actorId: caller.user.id, operation: 'update', object1: def.type, object1Id: id, changes: { survey_spec: 'updated' } });
    return { status: 200, body: displaySurveySpec(sealed) };
  });
  router.delete(path, async (req, ctx) => {
    const caller = await requireCaller(req, ctx);
    const id = await resolveId(ctx, def, req.params.id);
    await requireObjectPerm(ctx, def, caller, id, 'admin');
    await ctx.pool.query(`UPDATE ${def.table} SET survey_spec = '{}', modified = now() WHERE id = $1`, [id]);
    return { status: 200, body: {} };
  });
}
