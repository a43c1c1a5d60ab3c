import '../components/setup-forms.css';
import { useEffect, useState } from 'preact/hooks';
import { type ApiObject, get, type Page, patch, post } from '../api.js';
import { loadPicked, MultiPicker, type Picked, saveAssociations } from '../components/multi-picker.js';
import { type FieldSpec, ResourceForm } from '../components/resource-form.js';
import { useCanAdd } from '../components/resource-table.js';
import { useFetch } from '../components/use-fetch.js';
import { Link, navigate } from '../router.js';

/**
 * A job template's create and edit form, as AWX's: the template's own fields with pickers
 * for its inventory, project (and then one of the project's playbooks), execution
 * environment; and the lists saved through its sub-lists once the template is saved —
 * credentials chosen by type, instance groups, labels, and the notifications sent when a
 * job starts, succeeds or fails. Shown only to who may create (the list's OPTIONS) or edit
 * (the template's user_capabilities); anyone else reads it with every input disabled.
 */
const FIELDS: FieldSpec[] = [
  { name: 'name', label: 'Name', required: true },
  { name: 'description', label: 'Description' },
  { name: 'job_type', label: 'Job type', type: 'select', options: ['run', 'check'] },
  { name: 'inventory', label: 'Inventory', type: 'lookup', lookup: '/api/v2/inventories/' },
  { name: 'project', label: 'Project', type: 'lookup', lookup: '/api/v2/projects/', required: true },
  { name: 'playbook', label: 'Playbook', type: 'playbook', required: true },
  { name: 'execution_environment', label: 'Execution environment', type: 'lookup', lookup: '/api/v2/execution_environments/' },
  { name: 'limit', label: 'Limit' },
  { name: 'forks', label: 'Forks', type: 'number', default: 0 },
  { name: 'verbosity', label: 'Verbosity (0–5)', type: 'number', default: 0 },
  { name: 'timeout', label: 'Timeout (seconds)', type: 'number', default: 0 },
  { name: 'job_tags', label: 'Job tags' },
  { name: 'skip_tags', label: 'Skip tags' },
  { name: 'extra_vars', label: 'Extra variables (YAML or JSON)', type: 'vars' },
  { name: 'become_enabled', label: 'Privilege escalation', type: 'boolean' },
  { name: 'diff_mode', label: 'Show changes (diff mode)', type: 'boolean' },
  { name: 'allow_simultaneous', label: 'Concurrent jobs', type: 'boolean' },
  { name: 'ask_inventory_on_launch', label: 'Prompt for inventory', type: 'boolean' },
  { name: 'ask_limit_on_launch', label: 'Prompt for limit', type: 'boolean' },
  { name: 'ask_variables_on_launch', label: 'Prompt for variables', type: 'boolean' },
  { name: 'ask_verbosity_on_launch', label: 'Prompt for verbosity', type: 'boolean' },
  { name: 'ask_credential_on_launch', label: 'Prompt for credentials', type: 'boolean' },
  { name: 'survey_enabled', label: 'Survey enabled', type: 'boolean' },
];

export const NOTIFY_EVENTS = [['started', 'Start'], ['success', 'Success'], ['error', 'Failure']] as const;
type Lists = { credentials: Picked[]; instance_groups: Picked[]; labels: Picked[]; started: Picked[]; success: Picked[]; error: Picked[] };
const EMPTY: Lists = { credentials: [], instance_groups: [], labels: [], started: [], success: [], error: [] };
const SUBLIST: Record<keyof Lists, string> = { credentials: 'credentials', instance_groups: 'instance_groups', labels: 'labels',
  started: 'notification_templates_started', success: 'notification_templates_success', error: 'notification_templates_error' };
const credentialKind = (o: ApiObject) => o.summary_fields?.credential_type?.name ?? o.kind ?? '';

export function TemplateFormPage(props: { id?: number }) {
  const creating = props.id === undefined;
  const { data, error, reload } = useFetch<ApiObject>(creating ? undefined : `/api/v2/job_templates/${props.id}/`);
  const canAdd = useCanAdd('/api/v2/job_templates/');
  const [stored, setStored] = useState<Lists>(EMPTY);
  const [lists, setLists] = useState<Lists>(EMPTY);
  const [credType, setCredType] = useState('');
  const { data: types } = useFetch<Page<ApiObject>>('/api/v2/credential_types/?page_size=200&order_by=name');
  const [newLabel, setNewLabel] = useState('');

  useEffect(() => {
    if (creating) return;
    const base = `/api/v2/job_templates/${props.id}/`;
    void Promise.all((Object.keys(SUBLIST) as (keyof Lists)[]).map(async (k) =>
      [k, await loadPicked(base + SUBLIST[k] + '/', k === 'credentials' ? credentialKind : undefined)] as const))
      .then((entries) => { const l = Object.fromEntries(entries) as Lists; setStored(l); setLists(l); });
  }, [props.id]);
  useEffect(() => { if (!credType && types?.results.length) setCredType(String(types.results.find((t) => t.name === 'Machine')?.id ?? types.results[0].id)); }, [types]);

  if (error) return <div class="error">{error}</div>;
  if (!creating && !data) return <div class="muted">Loading…</div>;
  const readOnly = creating ? !canAdd : !data!.summary_fields?.user_capabilities?.edit;
  const set = (k: keyof Lists, v: Picked[]) => setLists((prev) => ({ ...prev, [k]: v }));

  return (
    <div>
      <div class="page-head">
        <h1><Link href="/templates">Templates</Link> / {creating ? 'New job template' : <Link href={`/templates/job_template/${props.id}`}>{data!.name}</Link>}</h1>
      </div>
      {creating && !canAdd && <div class="muted card" data-testid="no-create">You may not create job templates: that needs admin of an organization or use of a project.</div>}
      <ResourceForm fields={FIELDS} value={data} readOnly={readOnly} submitLabel={creating ? 'Create' : 'Save'}
        extra={() => (
          <div class="pickers">
            <div class="picker-row">
              <label>Credential type
                <select name="credential_type_filter" value={credType} onChange={(e) => setCredType((e.currentTarget as HTMLSelectElement).value)}>
                  {(types?.results ?? []).map((t) => <option value={String(t.id)}>{t.name}</option>)}
                </select>
              </label>
              {credType && <MultiPicker name="credentials" label="Credentials" listUrl={`/api/v2/credentials/?credential_type=${credType}`} value={lists.credentials}
                kindOf={credentialKind} onChange={(v) => set('credentials', v)} disabled={readOnly} />}
            </div>
            <MultiPicker name="instance_groups" label="Instance groups" listUrl="/api/v2/instance_groups/" value={lists.instance_groups}
              onChange={(v) => set('instance_groups', v)} disabled={readOnly} />
            <div class="picker-row">
              <MultiPicker name="labels" label="Labels" listUrl="/api/v2/labels/" value={lists.labels} onChange={(v) => set('labels', v)} disabled={readOnly} />
              {!readOnly && (
                <label>New label
                  <span class="inline">
                    <input name="new_label" value={newLabel} onInput={(e) => setNewLabel((e.currentTarget as HTMLInputElement).value)} />
                    <button type="button" class="btn-small" disabled={!newLabel.trim() || lists.labels.some((l) => l.name === newLabel.trim())}
                      onClick={() => { set('labels', [...lists.labels, { id: -Date.now(), name: newLabel.trim() }]); setNewLabel(''); }}>Add label</button>
                  </span>
                </label>
              )}
            </div>
            {NOTIFY_EVENTS.map(([k, label]) => (
              <MultiPicker key={k} name={`notify_${k}`} label={`Notify on ${label.toLowerCase()}`} listUrl="/api/v2/notification_templates/"
                value={lists[k]} onChange={(v) => set(k, v)} disabled={readOnly} />
            ))}
          </div>
        )}
        onSubmit={async (body) => {
          const saved = creating ? await post<ApiObject>('/api/v2/job_templates/', body) : await patch<ApiObject>(`/api/v2/job_templates/${props.id}/`, body);
          const base = `/api/v2/job_templates/${saved.id}/`;
          // New labels are made in the template's organization (the project's), then linked.
          const labels: Picked[] = [];
          for (const l of lists.labels) {
            labels.push(l.id > 0 ? l : { id: (await post<ApiObject>('/api/v2/labels/', { name: l.name, organization: saved.organization })).id, name: l.name });
          }
          const wanted = { ...lists, labels };
          for (const k of Object.keys(SUBLIST) as (keyof Lists)[]) await saveAssociations(base + SUBLIST[k] + '/', stored[k], wanted[k]);
          if (creating) navigate(`/templates/job_template/${saved.id}`, true);
          else { setStored(wanted); setLists(wanted); await reload(); }
        }} />
    </div>
  );
}

/** Whether the caller may create a job template, for the Add button on /templates. */
export function useCanAddTemplate(): boolean {
  return useCanAdd('/api/v2/job_templates/');
}

/** Used by the detail page: the notifications attached to a template, per event. */
export async function attachedNotifications(id: number): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const [k] of NOTIFY_EVENTS) {
    const page = await get<Page<ApiObject>>(`/api/v2/job_templates/${id}/notification_templates_${k}/?page_size=50`);
    out[k] = page.results.map((n) => String(n.name));
  }
  return out;
}
