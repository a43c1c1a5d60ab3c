import type { Fields, Queryable, Row } from '../engine/resource.js';
import { badRequest } from '../http.js';
import { NOT_ALLOWED, SCHEDULE_PROMPTS, loadPromptTemplate, sortExtraData, sortPrompts, type PromptTemplate,
  type SchedulePrompts } from '../../scheduler/schedule-prompts.js';
import { applySurvey } from '../survey.js';
import { systemJobVarProblems } from '../../scheduler/system-job-vars.js';

/**
 * The prompt fields of a schedule's API object (AWX's LaunchConfigurationBaseSerializer):
 * each read from schedules.launch_prompts, null when the schedule does not set it, and a
 * null written clears it. `execution_environment` and `job_slice_count` are AWX fields that
 * Playstream does not run: shown as null, and refused with 400 when given a value.
 */
const prompt = (type: 'int' | 'text' | 'bool', cast: string, extra: Row = {}) => (name: string) =>
  ({ type, writable: true, nullAs: null, col: `(t.launch_prompts->>'${name}')${cast}`, ...extra });

const PROMPT_FIELDS: Record<string, (name: string) => Row> = {
  inventory: prompt('int', '::bigint'),
  scm_branch: prompt('text', ''),
  job_type: prompt('text', '', { choices: ['run', 'check'] }),
  job_tags: prompt('text', ''),
  skip_tags: prompt('text', ''),
  limit: prompt('text', ''),
  diff_mode: prompt('bool', '::boolean'),
  verbosity: prompt('int', '::int'),
  forks: prompt('int', '::int'),
  timeout: prompt('int', '::int'),
};

export const UNSUPPORTED_SCHEDULE_FIELDS = ['execution_environment', 'job_slice_count'];

export const schedulePromptFields: Fields = {
  ...Object.fromEntries(Object.entries(PROMPT_FIELDS).map(([name, f]) => [name, f(name)])),
  ...Object.fromEntries(UNSUPPORTED_SCHEDULE_FIELDS.map((name) => [name, { type: 'json', writable: true, col: 'NULL::bigint' }])),
} as Fields;

/** Range checks DRF makes on these fields (VERBOSITY_CHOICES, min_value=0). */
function rangeErrors(data: Row): Record<string, string[]> {
  const errors: Record<string, string[]> = {};
  if (data.verbosity != null && !((data.verbosity as number) >= 0 && (data.verbosity as number) <= 5)) {
    errors.verbosity = [`"${String(data.verbosity)}" is not a valid choice.`];
  }
  for (const k of ['forks', 'timeout']) {
    if (data[k] != null && (data[k] as number) < 0) errors[k] = ['Ensure this value is greater than or equal to 0.'];
  }
  for (const k of UNSUPPORTED_SCHEDULE_FIELDS) {
    if (data[k] != null) errors[k] = [`Playstream does not support ${k} on schedules.`];
  }
  return errors;
}

/**
 * A schedule's extra_data as its launch will take it (AWX's accept_or_ignore_variables with
 * no errors excluded): on a job or workflow job template, survey answers checked against their questions
 * (and required ones present) and other variables only with ask_variables_on_launch; on a
 * system job template, its `days`; on a project or inventory source, none.
 */
function checkExtraData(template: PromptTemplate, extraData: Row): void {
  if (template.kind === 'system_job_template') {
    const problems = systemJobVarProblems(template.jobType ?? '', extraData);
    if (problems.length) throw badRequest({ extra_data: problems });
    return;
  }
  if ((template.kind !== 'job_template' && template.kind !== 'workflow_job_template') || !template.row) {
    if (Object.keys(extraData).length) throw badRequest({ extra_data: [NOT_ALLOWED] });
    return;
  }
  const survey = applySurvey(template.row as Parameters<typeof applySurvey>[0], extraData);
  if (survey.errors.length) throw badRequest({ variables_needed_to_start: survey.errors });
  const { rejected } = sortExtraData(template.row, extraData);
  if (rejected.length) {
    throw badRequest({ extra_data: [`Variables ${rejected.join(', ')} are not allowed on launch. Check the Prompt on Launch setting on the Job Template to include Extra Variables.`] });
  }
}

/**
 * Moves the prompt fields of a schedule write into `launch_prompts`, after checking them
 * against the template as AWX does when a schedule is saved: a create, a change of template
 * or of any prompt re-checks the whole saved configuration (stored prompts and credentials
 * merged with the new ones), so a schedule never holds a prompt its template refuses. A
 * system job template's schedule has its extra_data checked as its launch's variables.
 */
export async function prepareSchedulePrompts(db: Queryable, data: Row, existing: Row | undefined): Promise<Row> {
  const errors = rangeErrors(data);
  if (Object.keys(errors).length) throw badRequest(errors);
  for (const k of UNSUPPORTED_SCHEDULE_FIELDS) delete data[k];
  const given = Object.keys(SCHEDULE_PROMPTS).filter((k) => data[k] !== undefined);
  const templateId = (data.unified_job_template ?? existing?.unified_job_template) as number;
  const retargeted = existing && data.unified_job_template !== undefined && data.unified_job_template !== existing.unified_job_template;
  const template = (!existing || retargeted || given.length || data.extra_data !== undefined) ? await loadPromptTemplate(db, templateId) : null;
  if (template) checkExtraData(template, (data.extra_data ?? existing?.extra_data ?? {}) as Row);
  if (template && (!existing || retargeted || given.length)) {
    const prompts: SchedulePrompts = {};
    for (const k of Object.keys(SCHEDULE_PROMPTS)) {
      const v = k in data ? data[k] : existing?.[k];
      if (v != null) prompts[k] = v;
    }
    if (prompts.inventory != null) {
      const { rowCount } = await db.query('SELECT 1 FROM inventories WHERE id = $1', [prompts.inventory]);
      if (!rowCount) throw badRequest({ inventory: [`Invalid pk "${String(prompts.inventory)}" - object does not exist.`] });
    }
    const credentialIds = existing ? (await db.query<{ credential_id: string }>(
      'SELECT credential_id FROM schedule_credentials WHERE schedule_id = $1', [existing.id])).rows.map((r) => Number(r.credential_id)) : [];
    const { errors: refused } = sortPrompts(template, prompts, credentialIds);
    if (Object.keys(refused).length) throw badRequest(refused);
    data.launch_prompts = prompts;
  }
  for (const k of Object.keys(SCHEDULE_PROMPTS)) delete data[k];
  return data;
}
