import { useEffect, useState } from 'preact/hooks';
import { type ApiObject, get, patch, post } from '../api.js';
import { formatTime } from '../components/format.js';
import { ENCRYPTED, FieldInput, type FieldSpec, ResourceForm } from '../components/resource-form.js';
import { type Column, type RowAction, ResourceTable, useCanAdd } from '../components/resource-table.js';
import { StatusBadge } from '../components/status.js';
import { useFetch } from '../components/use-fetch.js';
import { Link, navigate } from '../router.js';
import { AccessPanel, ROLE_OBJECTS } from './roles.js';
import { loadPicked, MultiPicker, type Picked, saveAssociations } from '../components/multi-picker.js';

/**
 * Every resource page from one table of definitions: the generic table and form do the
 * rest, so a resource is ~10 lines here rather than a page of its own. AWX's API paths and
 * field names throughout.
 */
export interface ResourceDef {
  key: string;
  title: string;
  api: string;
  nav: boolean;
  adminOnly?: boolean;
  columns: Column[];
  fields: FieldSpec[];
  actions?: RowAction[];
  /** Where a newly created object opens, when not its form (a workflow template's graph). */
  createdHref?: (o: ApiObject) => string;
  /** Lists shown under an object's form (an inventory's hosts and groups). */
  children?: (o: ApiObject) => { title: string; listUrl: string; resource: string; fixed: Record<string, unknown> }[];
}

const ORG: FieldSpec = { name: 'organization', label: 'Organization', type: 'lookup', lookup: '/api/v2/organizations/' };
const NAME: FieldSpec = { name: 'name', label: 'Name', required: true };
const DESCRIPTION: FieldSpec = { name: 'description', label: 'Description' };
const name: Column = { key: 'name', label: 'Name' };
const org: Column = { key: 'organization', label: 'Organization', render: (o) => o.summary_fields?.organization?.name ?? '—' };

const launchUpdate = (kind: string): RowAction => ({
  label: 'Sync',
  show: (o) => !!o.summary_fields?.user_capabilities?.start && !!o.related?.update,
  run: async (o) => {
    const res = await post<{ id?: number; project_update?: number; inventory_update?: number }>(o.related!.update, {});
    const id = res.id ?? res.project_update ?? res.inventory_update;
    if (id) navigate(`/jobs/${kind}/${id}/output`);
  },
});

export const RESOURCES: ResourceDef[] = [
  { key: 'projects', title: 'Projects', api: '/api/v2/projects/', nav: true,
    columns: [name, { key: 'status', label: 'Status', render: (o) => <StatusBadge status={o.status} /> }, { key: 'scm_type', label: 'Type' },
      { key: 'scm_revision', label: 'Revision', render: (o) => String(o.scm_revision ?? '').slice(0, 8) || '—' }, org],
    fields: [NAME, DESCRIPTION, ORG, { name: 'scm_type', label: 'Source control type', type: 'select', options: ['', 'git', 'svn', 'archive'] },
      { name: 'scm_url', label: 'Source control URL' }, { name: 'scm_branch', label: 'Branch' }, { name: 'scm_refspec', label: 'Refspec' },
      { name: 'credential', label: 'Source control credential', type: 'lookup', lookup: '/api/v2/credentials/' },
      { name: 'scm_clean', label: 'Clean', type: 'boolean' }, { name: 'scm_delete_on_update', label: 'Delete on update', type: 'boolean' },
      { name: 'scm_update_on_launch', label: 'Update revision on launch', type: 'boolean' },
      { name: 'scm_update_cache_timeout', label: 'Cache timeout (seconds)', type: 'number' }],
    actions: [launchUpdate('project_update')] },
  { key: 'inventories', title: 'Inventories', api: '/api/v2/inventories/', nav: true,
    columns: [name, { key: 'total_hosts', label: 'Hosts' }, { key: 'total_groups', label: 'Groups' }, org],
    fields: [NAME, DESCRIPTION, { ...ORG, required: true }, { name: 'variables', label: 'Variables (YAML or JSON)', type: 'vars' }],
    children: (o) => [
      { title: 'Hosts', listUrl: `/api/v2/inventories/${o.id}/hosts/`, resource: 'hosts', fixed: { inventory: o.id } },
      { title: 'Groups', listUrl: `/api/v2/inventories/${o.id}/groups/`, resource: 'groups', fixed: { inventory: o.id } },
      { title: 'Sources', listUrl: `/api/v2/inventories/${o.id}/inventory_sources/`, resource: 'inventory_sources', fixed: { inventory: o.id } },
    ],
    actions: [{ label: 'Run command', show: (o) => !!o.summary_fields?.user_capabilities?.adhoc, run: async (o) => navigate(`/inventories/${o.id}/ad_hoc`) }] },
  // Sourced from a project's inventory file (AWX's "Sourced from a Project"), synced with Sync; the sync's output opens.
  { key: 'inventory_sources', title: 'Inventory sources', api: '/api/v2/inventory_sources/', nav: false,
    columns: [name, { key: 'status', label: 'Status', render: (o) => <StatusBadge status={o.status} />, sort: 'status' }, { key: 'source', label: 'Source' },
      { key: 'last_job_run', label: 'Last sync', render: (o) => formatTime(o.last_job_run), sort: 'last_job_run' }],
    fields: [NAME, DESCRIPTION, { name: 'inventory', label: 'Inventory', type: 'lookup', lookup: '/api/v2/inventories/', required: true },
      { name: 'source', label: 'Source', type: 'select', options: ['scm'] },
      { name: 'source_project', label: 'Project', type: 'lookup', lookup: '/api/v2/projects/' },
      { name: 'source_path', label: 'Inventory file (path in the project)' },
      { name: 'credential', label: 'Credential', type: 'lookup', lookup: '/api/v2/credentials/' },
      { name: 'overwrite', label: 'Overwrite', type: 'boolean' }, { name: 'overwrite_vars', label: 'Overwrite variables', type: 'boolean' },
      { name: 'update_on_launch', label: 'Update on launch', type: 'boolean' }, { name: 'limit', label: 'Limit' },
      { name: 'verbosity', label: 'Verbosity (0–2)', type: 'number' }, { name: 'source_vars', label: 'Source variables (YAML or JSON)', type: 'vars' }],
    actions: [launchUpdate('inventory_update')] },
  { key: 'hosts', title: 'Hosts', api: '/api/v2/hosts/', nav: false,
    columns: [name, { key: 'inventory', label: 'Inventory', render: (o) => o.summary_fields?.inventory?.name ?? '—' }, { key: 'enabled', label: 'Enabled' }],
    fields: [NAME, DESCRIPTION, { name: 'inventory', label: 'Inventory', type: 'lookup', lookup: '/api/v2/inventories/', required: true },
      { name: 'enabled', label: 'Enabled', type: 'boolean', default: true }, { name: 'variables', label: 'Variables (YAML or JSON)', type: 'vars' }] },
  { key: 'groups', title: 'Groups', api: '/api/v2/groups/', nav: false,
    columns: [name, { key: 'inventory', label: 'Inventory', render: (o) => o.summary_fields?.inventory?.name ?? '—' }],
    fields: [NAME, DESCRIPTION, { name: 'inventory', label: 'Inventory', type: 'lookup', lookup: '/api/v2/inventories/', required: true },
      { name: 'variables', label: 'Variables (YAML or JSON)', type: 'vars' }] },
  { key: 'credentials', title: 'Credentials', api: '/api/v2/credentials/', nav: true,
    columns: [name, { key: 'credential_type', label: 'Type', render: (o) => o.summary_fields?.credential_type?.name ?? String(o.credential_type ?? '') }, org],
    fields: [NAME, DESCRIPTION, ORG, { name: 'credential_type', label: 'Credential type', type: 'lookup', lookup: '/api/v2/credential_types/', required: true }] },
  { key: 'organizations', title: 'Organizations', api: '/api/v2/organizations/', nav: true,
    columns: [name, { key: 'description', label: 'Description' }], fields: [NAME, DESCRIPTION, { name: 'max_hosts', label: 'Max hosts', type: 'number' }] },
  { key: 'teams', title: 'Teams', api: '/api/v2/teams/', nav: true,
    columns: [name, org], fields: [NAME, DESCRIPTION, { ...ORG, required: true }] },
  { key: 'users', title: 'Users', api: '/api/v2/users/', nav: true,
    columns: [{ key: 'username', label: 'Username', render: (o) => o.username }, { key: 'first_name', label: 'First name' }, { key: 'last_name', label: 'Last name' },
      { key: 'is_superuser', label: 'Superuser' }],
    fields: [{ name: 'username', label: 'Username', required: true }, { name: 'first_name', label: 'First name' }, { name: 'last_name', label: 'Last name' },
      { name: 'email', label: 'Email' }, { name: 'password', label: 'Password', type: 'password' }, { name: 'is_superuser', label: 'Superuser', type: 'boolean' },
      { name: 'is_system_auditor', label: 'System auditor', type: 'boolean' }] },
  { key: 'schedules', title: 'Schedules', api: '/api/v2/schedules/', nav: true,
    columns: [name, { key: 'unified_job_template', label: 'Template', render: (o) => o.summary_fields?.unified_job_template?.name ?? String(o.unified_job_template ?? '') },
      { key: 'enabled', label: 'Enabled' }, { key: 'next_run', label: 'Next run', render: (o) => formatTime(o.next_run) }],
    fields: [NAME, DESCRIPTION, { name: 'unified_job_template', label: 'Template', type: 'lookup', lookup: '/api/v2/unified_job_templates/', required: true },
      { name: 'rrule', label: 'RRULE (DTSTART;TZID=… RRULE:FREQ=…)', required: true }, { name: 'enabled', label: 'Enabled', type: 'boolean' },
      { name: 'extra_data', label: 'Extra data (JSON)', type: 'json' }] },
  { key: 'notification_templates', title: 'Notifications', api: '/api/v2/notification_templates/', nav: true,
    columns: [name, { key: 'notification_type', label: 'Type' }, org],
    fields: [NAME, DESCRIPTION, { ...ORG, required: true },
      { name: 'notification_type', label: 'Type', type: 'select', options: ['webhook', 'email', 'slack', 'mattermost', 'rocketchat', 'pagerduty', 'twilio', 'grafana', 'irc'] },
      { name: 'notification_configuration', label: 'Configuration (JSON; secrets read back as $encrypted$ and are kept)', type: 'json' }] },
  { key: 'instances', title: 'Instances', api: '/api/v2/instances/', nav: true, adminOnly: true,
    columns: [{ key: 'hostname', label: 'Hostname', render: (o) => o.hostname }, { key: 'node_type', label: 'Node type' }, { key: 'node_state', label: 'State' },
      { key: 'capacity', label: 'Capacity', render: (o) => <CapacityBar used={o.consumed_capacity} total={o.capacity} /> },
      { key: 'jobs_running', label: 'Running' }, { key: 'last_seen', label: 'Heartbeat', render: (o) => formatTime(o.last_seen) }, { key: 'enabled', label: 'Enabled' }],
    fields: [{ name: 'enabled', label: 'Enabled', type: 'boolean' }, { name: 'capacity_adjustment', label: 'Capacity adjustment (0–1)', type: 'number' }] },
  { key: 'instance_groups', title: 'Instance groups', api: '/api/v2/instance_groups/', nav: true, adminOnly: true,
    columns: [name, { key: 'capacity', label: 'Capacity', render: (o) => <CapacityBar used={o.consumed_capacity} total={o.capacity} /> },
      { key: 'instances', label: 'Instances' }, { key: 'jobs_running', label: 'Running' }],
    fields: [NAME, { name: 'policy_instance_minimum', label: 'Policy instance minimum', type: 'number' },
      { name: 'policy_instance_percentage', label: 'Policy instance percentage', type: 'number' },
      { name: 'max_concurrent_jobs', label: 'Max concurrent jobs', type: 'number' }, { name: 'max_forks', label: 'Max forks', type: 'number' }] },
  { key: 'execution_environments', title: 'Execution environments', api: '/api/v2/execution_environments/', nav: true,
    columns: [name, { key: 'image', label: 'Image', render: (o) => o.image || 'host sandbox' }, org],
    fields: [NAME, DESCRIPTION, ORG, { name: 'image', label: 'Image (empty: the host sandbox)' },
      { name: 'pull', label: 'Pull', type: 'select', options: ['', 'always', 'missing', 'never'] },
      { name: 'credential', label: 'Registry credential', type: 'lookup', lookup: '/api/v2/credentials/' }] },
  { key: 'job_templates', title: 'Job templates', api: '/api/v2/job_templates/', nav: false,
    columns: [name],
    fields: [NAME, DESCRIPTION, { name: 'job_type', label: 'Job type', type: 'select', options: ['run', 'check'] },
      { name: 'inventory', label: 'Inventory', type: 'lookup', lookup: '/api/v2/inventories/' },
      { name: 'project', label: 'Project', type: 'lookup', lookup: '/api/v2/projects/', required: true }, { name: 'playbook', label: 'Playbook', type: 'playbook', required: true },
      { name: 'limit', label: 'Limit' }, { name: 'forks', label: 'Forks', type: 'number' }, { name: 'verbosity', label: 'Verbosity (0–5)', type: 'number' },
      { name: 'extra_vars', label: 'Extra variables (YAML or JSON)', type: 'vars' }, { name: 'timeout', label: 'Timeout', type: 'number' },
      { name: 'allow_simultaneous', label: 'Concurrent jobs', type: 'boolean' }, { name: 'become_enabled', label: 'Privilege escalation', type: 'boolean' },
      { name: 'ask_limit_on_launch', label: 'Prompt for limit', type: 'boolean' }, { name: 'ask_variables_on_launch', label: 'Prompt for variables', type: 'boolean' },
      { name: 'ask_inventory_on_launch', label: 'Prompt for inventory', type: 'boolean' }, { name: 'ask_verbosity_on_launch', label: 'Prompt for verbosity', type: 'boolean' },
      { name: 'survey_enabled', label: 'Survey enabled', type: 'boolean' }] },
  // Its list and graph are console/src/workflow/; this is its create and edit form.
  { key: 'workflow_job_templates', title: 'Workflow templates', api: '/api/v2/workflow_job_templates/', nav: false,
    columns: [name, org], createdHref: (o) => `/templates/workflow_job_template/${o.id}`,
    fields: [NAME, DESCRIPTION, { ...ORG, required: true }, { name: 'inventory', label: 'Inventory', type: 'lookup', lookup: '/api/v2/inventories/' },
      { name: 'limit', label: 'Limit' }, { name: 'scm_branch', label: 'Source control branch' }, { name: 'extra_vars', label: 'Extra variables', type: 'textarea' },
      { name: 'allow_simultaneous', label: 'Concurrent jobs', type: 'boolean' },
      { name: 'ask_inventory_on_launch', label: 'Prompt for inventory', type: 'boolean' }, { name: 'ask_limit_on_launch', label: 'Prompt for limit', type: 'boolean' },
      { name: 'ask_scm_branch_on_launch', label: 'Prompt for branch', type: 'boolean' }, { name: 'ask_tags_on_launch', label: 'Prompt for job tags', type: 'boolean' },
      { name: 'ask_skip_tags_on_launch', label: 'Prompt for skip tags', type: 'boolean' },
      { name: 'ask_variables_on_launch', label: 'Prompt for variables', type: 'boolean' }, { name: 'survey_enabled', label: 'Survey enabled', type: 'boolean' }] },
];

function CapacityBar(props: { used: number | undefined; total: number | undefined }) {
  const used = Number(props.used ?? 0);
  const total = Number(props.total ?? 0);
  const pct = total ? Math.min(100, Math.round((used / total) * 100)) : 0;
  return <span class="capacity" title={`${used} of ${total}`}><span class="capacity-bar"><i style={{ width: `${pct}%` }} /></span> {used}/{total}</span>;
}

const byKey = (k: string) => RESOURCES.find((r) => r.key === k)!;

export function ResourceListPage(props: { resource: ResourceDef }) {
  const r = props.resource;
  return (
    <div>
      <div class="page-head"><h1>{r.title}</h1></div>
      <ResourceTable listUrl={r.api} columns={r.columns} hrefOf={(o) => `/${r.key}/${o.id}`} addHref={`/${r.key}/new`} actions={r.actions} />
    </div>
  );
}

/** `/projects/7` edits (or shows read-only) project 7; `/projects/new?inventory=3` creates one. */
export function ResourceDetailPage(props: { resource: ResourceDef; id: number }) {
  const r = props.resource;
  const creating = Number.isNaN(props.id);
  const { data, error, reload } = useFetch<ApiObject>(creating ? undefined : `${r.api}${props.id}/`);
  // A form that can only fail is not offered: a new object where the list's OPTIONS allows POST.
  const canAdd = useCanAdd(r.api);
  const fixedParams = new URLSearchParams(location.search);
  const fields = r.fields.map((f) => (creating && fixedParams.has(f.name) ? { ...f, fixed: Number(fixedParams.get(f.name)) } : f));
  if (error) return <div class="error">{error}</div>;
  if (!creating && !data) return <div class="muted">Loading…</div>;
  const caps = data?.summary_fields?.user_capabilities ?? {};
  const title = creating ? `New ${r.title.replace(/s$/, '').toLowerCase()}` : (data!.name ?? data!.username ?? data!.hostname);
  return (
    <div>
      <div class="page-head">
        <h1><Link href={`/${r.key}`}>{r.title}</Link> / {title}</h1>
        <span class="spacer" />
        {!creating && (r.actions ?? []).filter((a) => a.show(data!)).map((a) => <button type="button" class="btn" onClick={() => void a.run(data!).then(reload)}>{a.label}</button>)}
        {!creating && (r.key === 'users' || r.key === 'teams') && <Link class="btn" href={`/${r.key}/${props.id}/roles`} data-testid="roles">Roles</Link>}
      </div>
      <ResourceForm fields={fields} value={data} readOnly={creating ? !canAdd : !caps.edit} submitLabel={creating ? 'Create' : 'Save'}
        extra={r.key === 'credentials' ? (form) => <CredentialInputs typeId={form.values.credential_type} stored={data?.inputs} set={form.set} values={form.values} /> : undefined}
        onSubmit={async (body) => {
          if (creating) {
            const made = await post<ApiObject>(r.api, body);
            navigate(fixedParams.get('back') ?? r.createdHref?.(made) ?? `/${r.key}/${made.id}`, true);
          } else {
            await patch(`${r.api}${props.id}/`, body);
            await reload();
          }
        }} />
      {!creating && r.key === 'groups' && <GroupHosts group={data!} canEdit={!!caps.edit} />}
      {!creating && ROLE_OBJECTS.some(([, key]) => key === r.key) && <AccessPanel api={`${r.api}${props.id}/`} canGrant={!!caps.edit} />}
      {!creating && r.children?.(data!).map((c) => {
        const child = byKey(c.resource);
        const q = new URLSearchParams({ ...Object.fromEntries(Object.entries(c.fixed).map(([k, v]) => [k, String(v)])), back: `/${r.key}/${props.id}` });
        return <ResourceTable key={c.title} title={c.title} listUrl={c.listUrl} columns={child.columns} hrefOf={(o) => `/${child.key}/${o.id}`} addHref={`/${child.key}/new?${q}`}
          actions={child.actions} />;
      })}
    </div>
  );
}

/** A group's hosts: chosen among its inventory's hosts, saved through `/groups/N/hosts/` (AWX's associate and disassociate). */
function GroupHosts(props: { group: ApiObject; canEdit: boolean }) {
  const listUrl = `/api/v2/groups/${props.group.id}/hosts/`;
  const [saved, setSaved] = useState<Picked[] | undefined>();
  const [chosen, setChosen] = useState<Picked[]>([]);
  const [error, setError] = useState('');
  useEffect(() => { void loadPicked(listUrl).then((p) => { setSaved(p); setChosen(p); }); }, [listUrl]);
  if (!saved) return null;
  const changed = JSON.stringify(saved.map((p) => p.id)) !== JSON.stringify(chosen.map((p) => p.id));
  return (
    <div class="card" data-testid="group-hosts">
      <MultiPicker name="group_hosts" label="Hosts in this group" listUrl={`/api/v2/inventories/${props.group.inventory}/hosts/`}
        value={chosen} onChange={setChosen} disabled={!props.canEdit} />
      {props.canEdit && <button type="button" class="btn" disabled={!changed} onClick={() => {
        setError('');
        void saveAssociations(listUrl, saved, chosen).then(() => setSaved(chosen)).catch((e: Error) => setError(e.message));
      }}>Save hosts</button>}
      {error && <div class="error">{error}</div>}
    </div>
  );
}

/** A credential's inputs, from its type's `inputs.fields`; secret ones are password inputs that never show the stored value. */
function CredentialInputs(props: { typeId: unknown; stored: Record<string, unknown> | undefined; values: Record<string, any>; set: (k: string, v: unknown) => void }) {
  const [fields, setFields] = useState<{ id: string; label: string; secret?: boolean; multiline?: boolean; type?: string }[]>([]);
  useEffect(() => {
    if (!props.typeId) { setFields([]); return; }
    void get<ApiObject>(`/api/v2/credential_types/${props.typeId}/`).then((t) => setFields(t.inputs?.fields ?? [])).catch(() => setFields([]));
  }, [props.typeId]);
  useEffect(() => {
    for (const f of fields) {
      const v = props.stored?.[f.id];
      if (props.values[`inputs.${f.id}`] === undefined) props.set(`inputs.${f.id}`, f.secret || v === ENCRYPTED ? '' : v ?? '');
    }
  }, [fields]);
  return (
    <div class="subfields">
      {fields.length > 0 && <h3>Type details</h3>}
      {fields.map((f) => (
        <FieldInput key={f.id} spec={{ name: `inputs.${f.id}`, label: f.label, type: f.secret ? 'password' : f.type === 'boolean' ? 'boolean' : f.multiline ? 'textarea' : 'text', multiline: f.multiline }}
          value={props.values[`inputs.${f.id}`]} onChange={(v) => props.set(`inputs.${f.id}`, v)} secretStored={props.stored?.[f.id] === ENCRYPTED} />
      ))}
    </div>
  );
}
