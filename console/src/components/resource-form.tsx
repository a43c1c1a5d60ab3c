import { useEffect, useState } from 'preact/hooks';
import { type ApiObject, get, type Page } from '../api.js';

/**
 * One form for every resource, driven by a field list. Secret fields are write-only, as
 * the API makes them: a stored secret reads back as `$encrypted$`, is never put in an
 * input, and an untouched secret input sends `$encrypted$` back so the server keeps it.
 */
export const ENCRYPTED = '$encrypted$';

export interface FieldSpec {
  name: string;
  label: string;
  type?: 'text' | 'textarea' | 'number' | 'boolean' | 'select' | 'lookup' | 'password' | 'json';
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
  const [busy, setBusy] = useState(false);
  useEffect(() => { setValues(initial(props.fields, props.value)); }, [props.value]);
  const set = (k: string, v: unknown) => setValues((prev) => ({ ...prev, [k]: v }));

  return (
    <form class="card form" onSubmit={async (e) => {
      e.preventDefault();
      setBusy(true);
      setError('');
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
        setError((err as Error).message);
      } finally {
        setBusy(false);
      }
    }}>
      <fieldset disabled={props.readOnly || busy}>
        {props.fields.filter((f) => f.fixed === undefined).map((f) => <FieldInput key={f.name} spec={f} value={values[f.name]} onChange={(v) => set(f.name, v)} />)}
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
    else if (f.type === 'boolean') out[f.name] = !!v;
    else out[f.name] = v ?? (f.type === 'select' ? f.options?.[0] ?? '' : '');
  }
  return out;
}

export function FieldInput(props: { spec: FieldSpec; value: any; onChange: (v: unknown) => void; secretStored?: boolean }) {
  const { spec: f, value } = props;
  const onInput = (e: Event) => props.onChange((e.currentTarget as HTMLInputElement).value);
  if (f.type === 'boolean') {
    return <label class="check"><input type="checkbox" name={f.name} checked={!!value} onChange={(e) => props.onChange((e.currentTarget as HTMLInputElement).checked)} /> {f.label}</label>;
  }
  let input;
  if (f.type === 'textarea' || f.type === 'json') input = <textarea name={f.name} rows={f.type === 'json' ? 6 : 3} value={value ?? ''} onInput={onInput} required={f.required} />;
  else if (f.type === 'select') input = <select name={f.name} value={value ?? ''} onChange={onInput}>{(f.options ?? []).map((o) => <option value={o}>{o || '(none)'}</option>)}</select>;
  else if (f.type === 'lookup') input = <Lookup spec={f} value={value} onChange={props.onChange} />;
  else if (f.type === 'password') input = <input name={f.name} type="password" autocomplete="new-password" value={value ?? ''} onInput={onInput} placeholder={props.secretStored ? 'stored — leave blank to keep' : ''} />;
  else if (f.type === 'number') input = <input name={f.name} type="number" value={value ?? ''} onInput={onInput} required={f.required} />;
  else input = <input name={f.name} type="text" value={value ?? ''} onInput={onInput} required={f.required} />;
  return <label>{f.label}{f.required ? ' *' : ''}{input}</label>;
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
