import '../components/setup-forms.css';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, type ApiObject, del, get, patch, post } from '../api.js';
import { useFetch } from '../components/use-fetch.js';
import { Link } from '../router.js';

/**
 * A job template's survey (`/job_templates/N/survey_spec/`): questions of each AWX type
 * added, edited, deleted and reordered, the survey turned on and off. Each question is
 * checked here as AWX's SurveySpecView checks it (variable unique and a valid name, the
 * default of the type's kind and among the choices, min ≤ max), and the server's own
 * refusal is shown as well. A stored password default reads back as `$encrypted$` and is
 * posted back as such, which keeps it.
 */
export interface Question {
  question_name: string; question_description: string; variable: string; type: string; required: boolean;
  default: unknown; choices?: string | string[]; min?: number | null; max?: number | null;
}

export const QUESTION_TYPES: [string, string][] = [['text', 'Text'], ['textarea', 'Textarea'], ['password', 'Password'],
  ['integer', 'Integer'], ['float', 'Float'], ['multiplechoice', 'Multiple choice (single select)'], ['multiselect', 'Multiple choice (multiple select)']];
const CHOICE_TYPES = new Set(['multiplechoice', 'multiselect']);
const NUMBER_TYPES = new Set(['integer', 'float']);
/** What Ansible accepts as a variable name (and AWX's UI asks for). */
const VARIABLE_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

interface Draft { question_name: string; question_description: string; variable: string; type: string; required: boolean;
  default: string; choices: string; min: string; max: string }

const blank = (): Draft => ({ question_name: '', question_description: '', variable: '', type: 'text', required: true, default: '', choices: '', min: '', max: '' });

function toDraft(q: Question): Draft {
  const list = (v: unknown) => (Array.isArray(v) ? v.join('\n') : v === undefined || v === null ? '' : String(v));
  return { question_name: q.question_name, question_description: q.question_description ?? '', variable: q.variable, type: q.type, required: !!q.required,
    default: list(q.default), choices: list(q.choices), min: q.min == null ? '' : String(q.min), max: q.max == null ? '' : String(q.max) };
}

/** The question a draft describes, or the field that is wrong and why. */
export function draftToQuestion(d: Draft, others: Question[]): { question: Question } | { field: string; message: string } {
  if (!d.question_name.trim()) return { field: 'question_name', message: 'A question needs a name.' };
  if (!VARIABLE_NAME.test(d.variable)) return { field: 'variable', message: 'Letters, digits and underscores, not starting with a digit.' };
  if (others.some((q) => q.variable === d.variable)) return { field: 'variable', message: `Another question already sets ${d.variable}.` };
  const q: Question = { question_name: d.question_name.trim(), question_description: d.question_description, variable: d.variable, type: d.type,
    required: d.required, default: '' };
  const int = (s: string, field: string) => (s === '' ? null : /^-?\d+$/.test(s.trim()) ? Number(s) : { field, message: 'A whole number.' });
  const min = int(d.min, 'min');
  const max = int(d.max, 'max');
  if (min && typeof min === 'object') return min;
  if (max && typeof max === 'object') return max;
  if (min !== null && max !== null && (min as number) > (max as number)) return { field: 'max', message: 'The maximum is below the minimum.' };
  if (!CHOICE_TYPES.has(d.type)) { q.min = min as number | null; q.max = max as number | null; }
  if (CHOICE_TYPES.has(d.type)) {
    const choices = d.choices.split('\n').map((c) => c.trim()).filter(Boolean);
    if (!choices.length) return { field: 'choices', message: 'List the choices, one a line.' };
    if (new Set(choices).size !== choices.length) return { field: 'choices', message: 'Each choice once.' };
    const defaults = d.default.split('\n').map((c) => c.trim()).filter(Boolean);
    if (d.type === 'multiplechoice' && defaults.length > 1) return { field: 'default', message: 'One default for a single select.' };
    if (defaults.some((x) => !choices.includes(x))) return { field: 'default', message: 'The default must be one of the choices.' };
    q.choices = choices.join('\n');
    q.default = defaults.join('\n');
  } else if (NUMBER_TYPES.has(d.type)) {
    if (d.default.trim() !== '') {
      const n = Number(d.default);
      if (!Number.isFinite(n) || (d.type === 'integer' && !Number.isInteger(n))) return { field: 'default', message: d.type === 'integer' ? 'A whole number.' : 'A number.' };
      if ((min !== null && n < (min as number)) || (max !== null && n > (max as number))) return { field: 'default', message: 'Outside the minimum and maximum.' };
      q.default = n;
    }
  } else {
    if (d.default !== '$encrypted$' && d.default !== '' && ((min !== null && d.default.length < (min as number)) || (max !== null && d.default.length > (max as number)))) {
      return { field: 'default', message: 'Its length is outside the minimum and maximum.' };
    }
    q.default = d.default;
  }
  return { question: q };
}

export function SurveyEditorPage(props: { id: number }) {
  const base = `/api/v2/job_templates/${props.id}/`;
  const { data: jt, reload } = useFetch<ApiObject>(base);
  const [questions, setQuestions] = useState<Question[] | undefined>(undefined);
  const [editing, setEditing] = useState<{ index: number; draft: Draft } | undefined>(undefined);
  const [fieldError, setFieldError] = useState<{ field: string; message: string } | undefined>(undefined);
  const [status, setStatus] = useState('');
  const [error, setError] = useState('');
  // The box shows what the user last chose while its save is on the way: a re-render from the
  // template as loaded before the save would otherwise flip it back.
  const [enabledChosen, setEnabledChosen] = useState<boolean | undefined>(undefined);
  useEffect(() => {
    void get<{ spec?: Question[] }>(`${base}survey_spec/`).then((s) => setQuestions(s.spec ?? [])).catch((e: Error) => setError(e.message));
  }, [props.id]);
  if (!jt || !questions) return <div class="muted">{error || 'Loading…'}</div>;
  const canEdit = !!jt.summary_fields?.user_capabilities?.edit;

  async function save(next: Question[]): Promise<boolean> {
    setError('');
    setStatus('');
    try {
      if (next.length) await post(`${base}survey_spec/`, { name: '', description: '', spec: next });
      else await del(`${base}survey_spec/`);
      setQuestions(next);
      setStatus('Survey saved.');
      return true;
    } catch (err) {
      setError(err instanceof ApiError ? `Not saved: ${err.message}` : (err as Error).message);
      return false;
    }
  }
  const move = (i: number, by: number) => {
    const next = questions.slice();
    [next[i], next[i + by]] = [next[i + by], next[i]];
    void save(next);
  };

  return (
    <div>
      <div class="page-head">
        <h1><Link href="/templates">Templates</Link> / <Link href={`/templates/job_template/${props.id}`}>{jt.name}</Link> / Survey</h1>
        <span class="spacer" />
        {canEdit && (
          <label class="check"><input type="checkbox" name="survey_enabled" checked={enabledChosen ?? !!jt.survey_enabled}
            onChange={async (e) => {
              const on = (e.currentTarget as HTMLInputElement).checked;
              setEnabledChosen(on);
              try { await patch(base, { survey_enabled: on }); await reload(); } catch (err) { setEnabledChosen(!on); setError((err as Error).message); }
            }} /> Survey enabled</label>
        )}
      </div>
      {!canEdit && <p class="muted">You may read this survey; changing it needs admin of the template.</p>}
      <table class="table survey-questions">
        <thead><tr><th>Question</th><th>Variable</th><th>Type</th><th>Required</th><th>Default</th><th /></tr></thead>
        <tbody>
          {questions.map((q, i) => (
            <tr key={q.variable} data-variable={q.variable}>
              <td>{q.question_name}</td><td><code>{q.variable}</code></td><td>{q.type}</td><td>{q.required ? 'yes' : 'no'}</td>
              <td>{q.default === undefined || q.default === '' ? '—' : String(q.default)}</td>
              <td class="actions">
                {canEdit && <>
                  <button type="button" class="btn-small" disabled={i === 0} title="Move up" onClick={() => move(i, -1)}>↑</button>
                  <button type="button" class="btn-small" disabled={i === questions.length - 1} title="Move down" onClick={() => move(i, 1)}>↓</button>
                  <button type="button" class="btn-small" onClick={() => { setFieldError(undefined); setEditing({ index: i, draft: toDraft(q) }); }}>Edit</button>
                  <button type="button" class="btn-small btn-danger" onClick={() => void save(questions.filter((_, k) => k !== i))}>Delete</button>
                </>}
              </td>
            </tr>
          ))}
          {!questions.length && <tr><td colSpan={6} class="muted">No questions yet.</td></tr>}
        </tbody>
      </table>
      {canEdit && !editing && <button type="button" class="btn-primary" data-testid="add-question" onClick={() => { setFieldError(undefined); setEditing({ index: -1, draft: blank() }); }}>Add question</button>}
      {editing && (
        <QuestionForm draft={editing.draft} error={fieldError} onCancel={() => setEditing(undefined)}
          onSubmit={(d) => {
            const others = questions.filter((_, k) => k !== editing.index);
            const made = draftToQuestion(d, others);
            if ('field' in made) { setFieldError(made); return; }
            setFieldError(undefined);
            const next = questions.slice();
            if (editing.index < 0) next.push(made.question); else next[editing.index] = made.question;
            // The form stays open with what was typed when the server refuses it.
            void save(next).then((ok) => { if (ok) setEditing(undefined); });
          }} />
      )}
      {status && <div class="muted" role="status">{status}</div>}
      {error && <div class="error" role="alert">{error}</div>}
    </div>
  );
}

function QuestionForm(props: { draft: Draft; error?: { field: string; message: string }; onSubmit: (d: Draft) => void; onCancel: () => void }) {
  const [d, setD] = useState<Draft>(props.draft);
  const set = (k: keyof Draft) => (e: Event) => {
    const el = e.currentTarget as HTMLInputElement;
    setD((prev) => ({ ...prev, [k]: el.type === 'checkbox' ? el.checked : el.value }));
  };
  const err = (field: string) => (props.error?.field === field ? <span class="field-error" role="alert" data-field={field}>{props.error.message}</span> : null);
  const choice = CHOICE_TYPES.has(d.type);
  return (
    <form class="card form question-form" onSubmit={(e) => { e.preventDefault(); props.onSubmit(d); }}>
      <label>Question *<input name="question_name" value={d.question_name} onInput={set('question_name')} />{err('question_name')}</label>
      <label>Description<input name="question_description" value={d.question_description} onInput={set('question_description')} /></label>
      <label>Answer variable name *<input name="variable" value={d.variable} onInput={set('variable')} spellcheck={false} />{err('variable')}</label>
      <label>Answer type<select name="type" value={d.type} onChange={set('type')}>{QUESTION_TYPES.map(([v, l]) => <option value={v}>{l}</option>)}</select></label>
      <label class="check"><input type="checkbox" name="required" checked={d.required} onChange={set('required')} /> Required</label>
      {choice && <label>Choices (one a line)<textarea name="choices" rows={4} value={d.choices} onInput={set('choices')} />{err('choices')}</label>}
      {!choice && <label>Minimum{NUMBER_TYPES.has(d.type) ? '' : ' length'}<input name="min" type="number" value={d.min} onInput={set('min')} />{err('min')}</label>}
      {!choice && <label>Maximum{NUMBER_TYPES.has(d.type) ? '' : ' length'}<input name="max" type="number" value={d.max} onInput={set('max')} />{err('max')}</label>}
      <label>Default{d.type === 'multiselect' ? ' (one a line)' : ''}
        {d.type === 'textarea' || d.type === 'multiselect'
          ? <textarea name="default" rows={3} value={d.default} onInput={set('default')} />
          : d.type === 'password'
            ? <input name="default" type="password" value={d.default} onInput={set('default')} autocomplete="new-password" />
            : <input name="default" type="text" value={d.default} onInput={set('default')} />}
        {err('default')}</label>
      <div class="form-actions">
        <button type="submit" class="btn-primary">Save question</button>
        <button type="button" class="btn" onClick={props.onCancel}>Cancel</button>
      </div>
    </form>
  );
}
