import { useEffect, useState } from 'preact/hooks';
import YAML from 'yaml';
import { ApiError, type ApiObject, patch, post } from '../api.js';
import { ResourceTable } from '../components/resource-table.js';
import { useFetch } from '../components/use-fetch.js';
import { Link, navigate } from '../router.js';

/**
 * Credential types: the managed ones (Machine, Source Control, ...) read-only, and custom
 * ones whose `inputs` (the fields a credential of the type asks for) and `injectors` (how
 * they reach a job: env, extra_vars, files) are written as YAML or JSON, as in AWX's form.
 * Both are parsed here to an object before any request; the server's checks (an injector
 * naming an unknown input, a bad field type) come back at their field.
 */
export function CredentialTypesPage() {
  return (
    <div>
      <div class="page-head"><h1>Credential types</h1></div>
      <ResourceTable listUrl="/api/v2/credential_types/" hrefOf={(o) => `/credential_types/${o.id}`} addHref="/credential_types/new" defaultOrder="name"
        columns={[{ key: 'name', label: 'Name' }, { key: 'kind', label: 'Kind' }, { key: 'managed', label: 'Managed' }]} />
    </div>
  );
}

const INPUTS_EXAMPLE = 'fields:\n  - id: api_token\n    label: API token\n    type: string\n    secret: true\nrequired:\n  - api_token\n';
const INJECTORS_EXAMPLE = 'env:\n  MY_API_TOKEN: "{{ api_token }}"\n';

/** Text of a YAML/JSON mapping: the object, or the problem to show at its field. */
export function parseMapping(text: string): { value?: Record<string, unknown>; problem?: string } {
  if (!text.trim()) return { value: {} };
  try {
    const v = YAML.parse(text);
    if (v === null || v === undefined) return { value: {} };
    if (typeof v !== 'object' || Array.isArray(v)) return { problem: 'Must be a mapping (key: value pairs), not a list or a single value.' };
    return { value: v as Record<string, unknown> };
  } catch (err) {
    return { problem: `Not valid JSON or YAML: ${String((err as Error).message).split('\n')[0]}` };
  }
}

export function CredentialTypeDetailPage(props: { id: number }) {
  const creating = Number.isNaN(props.id);
  const { data, error } = useFetch<ApiObject>(creating ? undefined : `/api/v2/credential_types/${props.id}/`);
  const [values, setValues] = useState({ name: '', description: '', kind: 'cloud', inputs: creating ? INPUTS_EXAMPLE : '', injectors: creating ? INJECTORS_EXAMPLE : '' });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [message, setMessage] = useState('');
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (data) setValues({ name: data.name ?? '', description: data.description ?? '', kind: data.kind ?? 'cloud',
      inputs: YAML.stringify(data.inputs ?? {}), injectors: YAML.stringify(data.injectors ?? {}) });
  }, [data]);
  if (error) return <div class="error">{error}</div>;
  if (!creating && !data) return <div class="muted">Loading…</div>;
  const readOnly = !creating && (!!data!.managed || !data!.summary_fields?.user_capabilities?.edit);
  const set = (k: keyof typeof values) => (e: Event) => setValues({ ...values, [k]: (e.currentTarget as HTMLInputElement).value });

  async function save(e: Event) {
    e.preventDefault();
    setMessage('');
    const inputs = parseMapping(values.inputs);
    const injectors = parseMapping(values.injectors);
    const problems: Record<string, string> = {};
    if (inputs.problem) problems.inputs = inputs.problem;
    if (injectors.problem) problems.injectors = injectors.problem;
    setErrors(problems);
    if (Object.keys(problems).length) { setMessage('Not saved: fix the fields marked above.'); return; }
    const body = { name: values.name, description: values.description, kind: values.kind, inputs: inputs.value, injectors: injectors.value };
    setBusy(true);
    try {
      if (creating) {
        const made = await post<ApiObject>('/api/v2/credential_types/', body);
        navigate(`/credential_types/${made.id}`, true);
      } else {
        await patch(`/api/v2/credential_types/${props.id}/`, body);
        setMessage('Saved.');
      }
    } catch (err) {
      const b = err instanceof ApiError && err.body && typeof err.body === 'object' ? err.body as Record<string, unknown> : {};
      const shown: Record<string, string> = {};
      for (const [k, v] of Object.entries(b)) if (k in values) shown[k] = Array.isArray(v) ? v.join(' ') : typeof v === 'object' ? JSON.stringify(v) : String(v);
      setErrors(shown);
      setMessage(`Not saved: ${(err as Error).message}`);
    } finally {
      setBusy(false);
    }
  }

  const err = (k: string) => errors[k] ? <span class="field-error" role="alert" data-field={k}>{errors[k]}</span> : null;
  return (
    <div>
      <div class="page-head"><h1><Link href="/credential_types">Credential types</Link> / {creating ? 'New credential type' : data!.name}</h1></div>
      {!creating && data!.managed && <p class="muted">A managed type: Playstream defines it, and it cannot be changed.</p>}
      <form class="card form" onSubmit={save}>
        <fieldset disabled={readOnly || busy}>
          <label>Name *<input name="name" value={values.name} onInput={set('name')} required />{err('name')}</label>
          <label>Description<input name="description" value={values.description} onInput={set('description')} /></label>
          <label>Kind<select name="kind" value={values.kind} onChange={set('kind')}><option value="cloud">cloud</option><option value="net">net</option></select>{err('kind')}</label>
          <label>Input configuration (YAML or JSON)<textarea name="inputs" rows={9} spellcheck={false} value={values.inputs} onInput={set('inputs')} />{err('inputs')}</label>
          <label>Injector configuration (YAML or JSON)<textarea name="injectors" rows={6} spellcheck={false} value={values.injectors} onInput={set('injectors')} />{err('injectors')}</label>
        </fieldset>
        {message && <div class={message === 'Saved.' ? 'muted' : 'error'} role="alert">{message}</div>}
        {!readOnly && <div class="form-actions"><button type="submit" class="btn-primary" disabled={busy}>{creating ? 'Create' : 'Save'}</button></div>}
      </form>
    </div>
  );
}
