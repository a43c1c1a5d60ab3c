import { useEffect, useState } from 'preact/hooks';
import { ApiError, type ApiObject, get, type Page } from '../api.js';
import { varsProblem } from './vars.js';

/**
 * One form for every resource, driven by a field list. Secret fields are write-only, as
 * the API makes them: a stored secret reads back as `$encrypted$`, is never put in an
 * input, and an untouched secret input sends `$encrypted$` back so the server keeps it.
 */
export const ENCRYPTED = '$encrypted$';

export interface FieldSpec {
  name: string;
  label: string;
  /**
   * `vars`: JSON or YAML variables, checked before saving; `playbook`: chosen from the list
   * of the project the form's `project` field names.
   */
  type?: 'text' | 'textarea' | 'number' | 'boolean' | 'select' | 'lookup' | 'password' | 'json' | 'vars' | 'playbook';
  /** A password that spans lines (an SSH key, a certificate): a textarea, kept byte for byte. */
  multiline?: boolean;
  /** The value a new object starts with (AWX's model default, e.g. a host is enabled). */
  default?: unknown;
  options?: string[];
  /** For `lookup`: the list to choose from (`/api/v2/organizations/`). */
  lookup?: string;
  required?: boolean;
  /** Fixed value on create (e.g. the inventory a host is added to); not shown. */
  fixed?: unknown;
}

export function ResourceForm(props: { fields: FieldSpec[]; value: ApiObject | undefined; readOnly: boolean;
  onSubmit: (body: Record<string, unknown>) => Promise<void>; submitLabel: string; extra?: (form: { values: Record<string, any>; set: (k: string, v: unknown) => void }) => preact.ComponentChildren }) {
  const [values, setValues] = useState<Record<string, any>>(() => initial(props.fields, props.value));
  const [error, setError] = useState('');
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);
  useEffect(() => { setValues(initial(props.fields, props.value)); }, [props.value]);
  const set = (k: string, v: unknown) => setValues((prev) => ({ ...prev, [k]: v }));

  return (
    <form class="card form" onSubmit={async (e) => {
      e.preventDefault();
      setError('');
      // Variables that would not parse are refused here, at their field, before any request.
      const problems: Record<string, string> = {};
      for (const f of props.fields) {
        if (f.type === 'vars' && f.fixed === undefined) {
          const p = varsProblem(String(values[f.name] ?? ''));
          if (p) problems[f.name] = p;
        }
      }
      setFieldErrors(problems);
      if (Object.keys(problems).length) { setError('Not saved: fix the fields marked above.'); return; }
      setBusy(true);
      try {
        const body: Record<string, unknown> = {};
        for (const f of props.fields) {
          if (f.fixed !== undefined) { body[f.name] = f.fixed; continue; }
          let v = values[f.name];
          if (f.type === 'password' && (v === '' || v === undefined)) { if (props.value) v = ENCRYPTED; else continue; }
          if (f.type === 'number' || f.type === 'lookup') v = v === '' || v === undefined || v === null ? null : Number(v);
          if (f.type === 'json') {
            try { v = v ? JSON.parse(v) : {}; } catch { throw new Error(`${f.label}: not valid JSON`); }
          }
          body[f.name] = v;
        }
        for (const [k, v] of Object.entries(values)) {
          if (!k.includes('.')) continue;
          const [head, sub] = k.split('.', 2);
          // A blank input over a stored secret keeps the secret.
          nest(body, k, v === '' && props.value?.[head]?.[sub] === ENCRYPTED ? ENCRYPTED : v);
        }
        await props.onSubmit(body);
      } catch (err) {
        // The server's field errors go to their fields; the rest (and a summary) below the form.
        const b = err instanceof ApiError ? err.body : undefined;
        const shown: Record<string, string> = {};
        if (b && typeof b === 'object' && !('detail' in b)) {
          for (const [k, v] of Object.entries(b as Record<string, unknown>)) {
            const msg = Array.isArray(v) ? v.join(' ') : typeof v === 'object' && v ? Object.entries(v).map(([sk, sv]) => `${sk}: ${String(sv)}`).join('; ') : String(v);
            if (props.fields.some((f) => f.name === k && f.fixed === undefined)) shown[k] = msg;
          }
        }
        setFieldErrors(shown);
        setError(Object.keys(shown).length ? `Not saved: ${(err as Error).message}` : (err as Error).message);
      } finally {
        setBusy(false);
      }
    }}>
      <fieldset disabled={props.readOnly || busy}>
        {props.fields.filter((f) => f.fixed === undefined).map((f) => (
          <FieldInput key={f.name} spec={f} value={values[f.name]} onChange={(v) => set(f.name, v)} error={fieldErrors[f.name]} values={values} />
        ))}
        {props.extra?.({ values, set })}
      </fieldset>
      {error && <div class="error" role="alert">{error}</div>}
      {!props.readOnly && <div class="form-actions"><button type="submit" class="btn-primary" disabled={busy}>{props.submitLabel}</button></div>}
    </form>
  );
}

function nest(body: Record<string, unknown>, path: string, v: unknown): void {
  const [head, ...rest] = path.split('.');
  const obj = ((body[head] ??= {}) as Record<string, unknown>);
  obj[rest.join('.')] = v;
}

function initial(fields: FieldSpec[], value: ApiObject | undefined): Record<string, any> {
  const out: Record<string, any> = {};
  for (const f of fields) {
    const v = value?.[f.name];
    if (f.type === 'password') out[f.name] = '';
    else if (f.type === 'json') out[f.name] = v === undefined ? '' : JSON.stringify(v, null, 2);
    else if (f.type === 'vars') out[f.name] = v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v, null, 2);
    else if (!value && f.default !== undefined) out[f.name] = f.default;
    else if (f.type === 'boolean') out[f.name] = !!v;
    else out[f.name] = v ?? (f.type === 'select' ? f.options?.[0] ?? '' : '');
  }
  return out;
}

export function FieldInput(props: { spec: FieldSpec; value: any; onChange: (v: unknown) => void; secretStored?: boolean; error?: string; values?: Record<string, any> }) {
  const { spec: f, value } = props;
  const onInput = (e: Event) => props.onChange((e.currentTarget as HTMLInputElement).value);
  const err = props.error ? <span class="field-error" role="alert" data-field={f.name}>{props.error}</span> : null;
  if (f.type === 'boolean') {
    return <label class="check"><input type="checkbox" name={f.name} checked={!!value} onChange={(e) => props.onChange((e.currentTarget as HTMLInputElement).checked)} /> {f.label}{err}</label>;
  }
  let input;
  if (f.type === 'textarea' || f.type === 'json' || f.type === 'vars') {
    input = <textarea name={f.name} rows={f.type === 'textarea' ? 3 : 6} value={value ?? ''} onInput={onInput} required={f.required} spellcheck={false}
      aria-invalid={props.error ? 'true' : undefined} />;
  } else if (f.type === 'password' && f.multiline) {
    // A pasted key keeps its newlines: an <input> would drop them (the bug this replaces).
    input = <textarea name={f.name} class="secret" rows={6} value={value ?? ''} onInput={onInput} spellcheck={false} autocomplete="off"
      placeholder={props.secretStored ? 'stored — leave blank to keep' : ''} />;
  } else if (f.type === 'playbook') input = <PlaybookSelect spec={f} value={value} project={props.values?.project} onChange={props.onChange} />;
  else if (f.type === 'select') input = <select name={f.name} value={value ?? ''} onChange={onInput}>{(f.options ?? []).map((o) => <option value={o}>{o || '(none)'}</option>)}</select>;
  else if (f.type === 'lookup') input = <Lookup spec={f} value={value} onChange={props.onChange} />;
  else if (f.type === 'password') input = <input name={f.name} type="password" autocomplete="new-password" value={value ?? ''} onInput={onInput} placeholder={props.secretStored ? 'stored — leave blank to keep' : ''} />;
  else if (f.type === 'number') input = <input name={f.name} type="number" value={value ?? ''} onInput={onInput} required={f.required} />;
  else input = <input name={f.name} type="text" value={value ?? ''} onInput={onInput} required={f.required} />;
  return <label>{f.label}{f.required ? ' *' : ''}{input}{err}</label>;
}

/** The playbooks of the chosen project (`/api/v2/projects/N/playbooks/`), as AWX's form offers them. */
function PlaybookSelect(props: { spec: FieldSpec; value: any; project: unknown; onChange: (v: unknown) => void }) {
  const [playbooks, setPlaybooks] = useState<string[] | undefined>(undefined);
  useEffect(() => {
    if (!props.project) { setPlaybooks([]); return; }
    setPlaybooks(undefined);
    void get<string[]>(`/api/v2/projects/${props.project}/playbooks/`).then(setPlaybooks).catch(() => setPlaybooks([]));
  }, [props.project]);
  const current = props.value ? String(props.value) : '';
  const list = playbooks ?? [];
  return (
    <select name={props.spec.name} value={current} onChange={(e) => props.onChange((e.currentTarget as HTMLSelectElement).value)} required={props.spec.required}>
      <option value="">{!props.project ? 'choose a project first' : playbooks === undefined ? 'loading…' : list.length ? '—' : 'no playbooks in this project'}</option>
      {current && !list.includes(current) && <option value={current}>{current} (not in the project)</option>}
      {list.map((p) => <option value={p}>{p}</option>)}
    </select>
  );
}

function Lookup(props: { spec: FieldSpec; value: any; onChange: (v: unknown) => void }) {
  const [options, setOptions] = useState<ApiObject[]>([]);
  useEffect(() => {
    void get<Page<ApiObject>>(`${props.spec.lookup}?page_size=200&order_by=name`).then((p) => setOptions(p.results)).catch(() => setOptions([]));
  }, [props.spec.lookup]);
  return (
    <select name={props.spec.name} value={props.value === null || props.value === undefined ? '' : String(props.value)}
      onChange={(e) => props.onChange((e.currentTarget as HTMLSelectElement).value)} required={props.spec.required}>
      <option value="">—</option>
      {options.map((o) => <option value={String(o.id)}>{o.name ?? o.username ?? o.hostname ?? o.id}</option>)}
    </select>
  );
}
