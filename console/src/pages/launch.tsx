import { useEffect, useState } from 'preact/hooks';
import { type ApiObject, get, type Page, post } from '../api.js';
import { useFetch } from '../components/use-fetch.js';
import { varsProblem } from '../components/vars.js';
import { navigate } from '../router.js';

/**
 * A launch refused before this page opened (templates.tsx posts at once when nothing is
 * asked): its error, by template id, shown as the page opens rather than after a second click.
 */
export const refusedLaunches = new Map<number, string>();

/**
 * Launch with prompts, as AWX's launch wizard: GET `launch/` says which `ask_*_on_launch`
 * prompts the template allows (with their defaults) and whether a survey runs; answers go
 * back in one POST, survey answers inside `extra_vars`. With nothing to ask, launching
 * from here posts at once and goes straight to the new job's output.
 */
interface LaunchInfo {
  ask_variables_on_launch?: boolean; ask_limit_on_launch?: boolean; ask_tags_on_launch?: boolean; ask_skip_tags_on_launch?: boolean;
  ask_job_type_on_launch?: boolean; ask_verbosity_on_launch?: boolean; ask_inventory_on_launch?: boolean; ask_diff_mode_on_launch?: boolean;
  ask_scm_branch_on_launch?: boolean; ask_forks_on_launch?: boolean; ask_timeout_on_launch?: boolean; ask_job_slice_count_on_launch?: boolean;
  ask_credential_on_launch?: boolean;
  survey_enabled?: boolean;
  defaults?: Record<string, any>;
  variables_needed_to_start?: string[];
  job_template_data?: { name?: string; id?: number };
  workflow_job_template_data?: { name?: string; id?: number };
}

interface SurveyQuestion {
  question_name: string; question_description?: string; variable: string; type: string; required?: boolean;
  default?: unknown; choices?: string | string[]; min?: number; max?: number;
}

const TEXT_PROMPTS: [keyof LaunchInfo, string, string][] = [
  ['ask_limit_on_launch', 'limit', 'Limit'],
  ['ask_tags_on_launch', 'job_tags', 'Job tags'],
  ['ask_skip_tags_on_launch', 'skip_tags', 'Skip tags'],
  ['ask_scm_branch_on_launch', 'scm_branch', 'Source control branch'],
];
const NUMBER_PROMPTS: [keyof LaunchInfo, string, string][] = [
  ['ask_forks_on_launch', 'forks', 'Forks'],
  ['ask_timeout_on_launch', 'timeout', 'Timeout (seconds)'],
  ['ask_job_slice_count_on_launch', 'job_slice_count', 'Job slices'],
];

/** A job template's or (kind workflow_job_template) a workflow job template's launch: the same prompts and survey. */
export function LaunchPage(props: { id: number; kind?: 'job_template' | 'workflow_job_template' }) {
  const workflow = props.kind === 'workflow_job_template';
  const base = `/api/v2/${workflow ? 'workflow_job_templates' : 'job_templates'}/${props.id}/`;
  const { data: info, error } = useFetch<LaunchInfo>(`${base}launch/`);
  const [survey, setSurvey] = useState<SurveyQuestion[]>([]);
  const [inventories, setInventories] = useState<ApiObject[]>([]);
  const [launchError, setLaunchError] = useState(() => {
    const refused = refusedLaunches.get(props.id);
    refusedLaunches.delete(props.id);
    return refused ? `Launch refused: ${refused}` : '';
  });
  const [varsError, setVarsError] = useState('');
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    if (info?.survey_enabled) void get<{ spec?: SurveyQuestion[] }>(`${base}survey_spec/`).then((s) => setSurvey(s.spec ?? [])).catch(() => setSurvey([]));
    if (info?.ask_inventory_on_launch) void get<Page<ApiObject>>('/api/v2/inventories/?page_size=200&order_by=name').then((p) => setInventories(p.results)).catch(() => undefined);
  }, [info]);

  if (error) return <div class="error">{error}</div>;
  if (!info) return <div class="muted">Loading…</div>;
  const d = info.defaults ?? {};

  async function submit(form: HTMLFormElement) {
    const f = new FormData(form);
    const body: Record<string, unknown> = {};
    for (const [ask, key] of TEXT_PROMPTS) if (info![ask]) body[key] = String(f.get(key) ?? '');
    for (const [ask, key] of NUMBER_PROMPTS) if (info![ask] && f.get(key) !== '') body[key] = Number(f.get(key));
    if (info!.ask_job_type_on_launch) body.job_type = f.get('job_type');
    if (info!.ask_verbosity_on_launch) body.verbosity = Number(f.get('verbosity'));
    if (info!.ask_diff_mode_on_launch) body.diff_mode = f.get('diff_mode') === 'on';
    if (info!.ask_inventory_on_launch && f.get('inventory')) body.inventory = Number(f.get('inventory'));
    let extra: Record<string, unknown> = {};
    if (info!.ask_variables_on_launch) {
      const text = String(f.get('extra_vars') ?? '').trim();
      const problem = varsProblem(text);
      setVarsError(problem ?? '');
      if (problem) { setLaunchError('Not launched: the extra variables do not parse.'); return; }
      if (text) {
        try { extra = JSON.parse(text); } catch { body.extra_vars = text; }
      }
    }
    for (const q of survey) {
      const raw = q.type === 'multiselect' ? f.getAll(q.variable).map(String) : f.get(q.variable);
      if (raw === null || raw === '' || (Array.isArray(raw) && !raw.length)) continue;
      extra[q.variable] = q.type === 'integer' ? Number(raw) : q.type === 'float' ? Number(raw) : raw;
    }
    if (Object.keys(extra).length && body.extra_vars === undefined) body.extra_vars = extra;
    setBusy(true);
    setLaunchError('');
    try {
      const res = await post<{ job?: number; workflow_job?: number; id?: number }>(`${base}launch/`, body);
      navigate(workflow ? `/jobs/workflow_job/${res.workflow_job ?? res.id}` : `/jobs/job/${res.job ?? res.id}/output`);
    } catch (err) {
      setLaunchError((err as Error).message);
      setBusy(false);
    }
  }

  return (
    <div>
      <div class="page-head"><h1>Launch {(info.job_template_data ?? info.workflow_job_template_data)?.name ?? `template ${props.id}`}</h1></div>
      <form class="card form launch-form" onSubmit={(e) => { e.preventDefault(); void submit(e.currentTarget as HTMLFormElement); }}>
        {info.ask_inventory_on_launch && (
          <label>Inventory
            <select name="inventory" defaultValue={String(d.inventory?.id ?? '')}>
              {inventories.map((i) => <option value={i.id}>{i.name}</option>)}
            </select>
          </label>
        )}
        {info.ask_job_type_on_launch && (
          <label>Job type<select name="job_type" defaultValue={d.job_type ?? 'run'}><option value="run">run</option><option value="check">check</option></select></label>
        )}
        {TEXT_PROMPTS.filter(([ask]) => info[ask]).map(([, key, label]) => <label key={key}>{label}<input name={key} defaultValue={d[key] ?? ''} /></label>)}
        {NUMBER_PROMPTS.filter(([ask]) => info[ask]).map(([, key, label]) => <label key={key}>{label}<input name={key} type="number" min={0} defaultValue={d[key] ?? ''} /></label>)}
        {info.ask_verbosity_on_launch && (
          <label>Verbosity<select name="verbosity" defaultValue={String(d.verbosity ?? 0)}>
            {[0, 1, 2, 3, 4, 5].map((v) => <option value={v}>{v} ({['Normal', 'Verbose', 'More verbose', 'Debug', 'Connection debug', 'WinRM debug'][v]})</option>)}
          </select></label>
        )}
        {info.ask_diff_mode_on_launch && <label class="check"><input type="checkbox" name="diff_mode" defaultChecked={!!d.diff_mode} /> Show changes (diff mode)</label>}
        {info.ask_variables_on_launch && <label>Extra variables (JSON or YAML)<textarea name="extra_vars" rows={5} defaultValue={typeof d.extra_vars === 'string' ? d.extra_vars : JSON.stringify(d.extra_vars ?? {}, null, 2)} />
          {varsError && <span class="field-error" role="alert" data-field="extra_vars">{varsError}</span>}</label>}
        {survey.length > 0 && <h2>Survey</h2>}
        {survey.map((q) => <SurveyField key={q.variable} q={q} />)}
        {launchError && <div class="error" role="alert">{launchError}</div>}
        <div class="form-actions">
          <button type="submit" class="btn-primary" disabled={busy}>{busy ? 'Launching…' : 'Launch'}</button>
          <button type="button" class="btn" onClick={() => history.back()}>Cancel</button>
        </div>
      </form>
    </div>
  );
}

function SurveyField(props: { q: SurveyQuestion }) {
  const { q } = props;
  const choices = Array.isArray(q.choices) ? q.choices : String(q.choices ?? '').split('\n').filter(Boolean);
  const label = `${q.question_name}${q.required ? ' *' : ''}`;
  const def = q.default === undefined || q.default === null ? '' : String(q.default);
  let input;
  if (q.type === 'multiplechoice') {
    input = <select name={q.variable} required={q.required} defaultValue={def}>{!q.required && <option value="" />}{choices.map((c) => <option value={c}>{c}</option>)}</select>;
  } else if (q.type === 'multiselect') {
    const defs = def.split('\n');
    input = <select name={q.variable} multiple required={q.required}>{choices.map((c) => <option value={c} selected={defs.includes(c)}>{c}</option>)}</select>;
  } else if (q.type === 'textarea') {
    input = <textarea name={q.variable} required={q.required} defaultValue={def} minLength={q.min} maxLength={q.max} />;
  } else if (q.type === 'integer' || q.type === 'float') {
    input = <input name={q.variable} type="number" step={q.type === 'float' ? 'any' : 1} required={q.required} defaultValue={def} min={q.min} max={q.max} />;
  } else {
    input = q.type === 'password'
      ? <input name={q.variable} type="password" required={q.required} minLength={q.min} maxLength={q.max} />
      : <input name={q.variable} type="text" required={q.required} defaultValue={def} minLength={q.min} maxLength={q.max} />;
  }
  return <label title={q.question_description}>{label}{input}</label>;
}
