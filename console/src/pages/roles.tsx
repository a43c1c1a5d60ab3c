import '../components/setup-forms.css';
import { useEffect, useState } from 'preact/hooks';
import { type ApiObject, get, type Page, post } from '../api.js';
import { useFetch } from '../components/use-fetch.js';
import { Link } from '../router.js';

/**
 * Access, as AWX grants it: a role of an object held by a user or a team.
 * - `AccessPanel` under an object: each of its roles with who holds it, a Remove for each
 *   holder and a form to grant a role to a team or a user (POST `/roles/N/users/` or
 *   `/roles/N/teams/` with `{id}`, `{id, disassociate: true}` to revoke).
 * - `HolderRolesPage` (`/users/N/roles`, `/teams/N/roles`): the roles a user or a team holds,
 *   revoked or granted from there (POST `/users/N/roles/` `{id}`).
 * Granting needs admin of the object (or its organization): the forms show only where the
 * object's user_capabilities say edit, and the server's refusal is shown when it says no.
 */
interface Role extends ApiObject { role_field: string; resource_type: string; resource_id: number }

/** Objects whose roles are granted here, with AWX's API paths. */
export const ROLE_OBJECTS: [string, string, string][] = [['job_template', 'job_templates', 'Job templates'],
  ['workflow_job_template', 'workflow_job_templates', 'Workflow templates'], ['project', 'projects', 'Projects'],
  ['inventory', 'inventories', 'Inventories'], ['credential', 'credentials', 'Credentials'], ['organization', 'organizations', 'Organizations'],
  ['team', 'teams', 'Teams'], ['instance_group', 'instance_groups', 'Instance groups']];

export function AccessPanel(props: { api: string; canGrant: boolean }) {
  const { data: roles } = useFetch<Page<Role>>(`${props.api}object_roles/?page_size=50`);
  const [holders, setHolders] = useState<Record<number, { users: ApiObject[]; teams: ApiObject[] }>>({});
  const [error, setError] = useState('');
  const [gen, setGen] = useState(0);
  useEffect(() => {
    if (!roles) return;
    void Promise.all(roles.results.map(async (r) => {
      const [u, t] = await Promise.all([get<Page<ApiObject>>(`/api/v2/roles/${r.id}/users/?page_size=200`), get<Page<ApiObject>>(`/api/v2/roles/${r.id}/teams/?page_size=200`)]);
      return [r.id, { users: u.results, teams: t.results }] as const;
    })).then((entries) => setHolders(Object.fromEntries(entries))).catch((e: Error) => setError(e.message));
  }, [roles, gen]);
  const change = async (url: string, body: Record<string, unknown>) => {
    setError('');
    try { await post(url, body); setGen((g) => g + 1); } catch (err) { setError((err as Error).message); }
  };
  if (!roles) return null;
  return (
    <div class="card access-panel" data-testid="access">
      <h2>Access</h2>
      <table class="table">
        <thead><tr><th>Role</th><th>Teams</th><th>Users</th></tr></thead>
        <tbody>
          {roles.results.map((r) => (
            <tr key={r.id} data-role={r.role_field}>
              <td title={r.description}>{r.name}</td>
              {(['teams', 'users'] as const).map((kind) => (
                <td key={kind}>
                  {(holders[r.id]?.[kind] ?? []).map((h) => (
                    <span class="chip" key={h.id} data-holder={`${kind}:${h.id}`}>{h.name ?? h.username}
                      {props.canGrant && <button type="button" class="chip-x" title="Remove" onClick={() => void change(`/api/v2/roles/${r.id}/${kind}/`, { id: h.id, disassociate: true })}>×</button>}
                    </span>
                  ))}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      {props.canGrant && (
        <form class="inline grant-form" onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget as HTMLFormElement);
          const kind = String(f.get('holder_kind'));
          const holder = Number(f.get('holder'));
          if (!holder) { setError(`Choose a ${kind === 'teams' ? 'team' : 'user'}.`); return; }
          void change(`/api/v2/roles/${f.get('role')}/${kind}/`, { id: holder });
        }}>
          Grant <select name="role">{roles.results.map((r) => <option value={String(r.id)}>{r.name}</option>)}</select>
          to <HolderSelect />
          <button type="submit" class="btn-small">Grant</button>
        </form>
      )}
      {error && <div class="error" role="alert">{error}</div>}
    </div>
  );
}

function HolderSelect() {
  const [kind, setKind] = useState<'teams' | 'users'>('teams');
  const { data } = useFetch<Page<ApiObject>>(`/api/v2/${kind}/?page_size=200&order_by=${kind === 'teams' ? 'name' : 'username'}`);
  return <>
    <select name="holder_kind" value={kind} onChange={(e) => setKind((e.currentTarget as HTMLSelectElement).value as 'teams' | 'users')}>
      <option value="teams">team</option><option value="users">user</option>
    </select>
    <select name="holder"><option value="">—</option>{(data?.results ?? []).map((h) => <option value={String(h.id)}>{h.name ?? h.username}</option>)}</select>
  </>;
}

export function HolderRolesPage(props: { kind: 'users' | 'teams'; id: number }) {
  const holderUrl = `/api/v2/${props.kind}/${props.id}/`;
  const { data: holder } = useFetch<ApiObject>(holderUrl);
  const { data: held, error: loadError, reload } = useFetch<Page<Role>>(`${holderUrl}roles/?page_size=200&order_by=id`);
  const [objType, setObjType] = useState('job_template');
  const path = ROLE_OBJECTS.find(([t]) => t === objType)![1];
  const { data: objects } = useFetch<Page<ApiObject>>(`/api/v2/${path}/?page_size=200&order_by=name`);
  const [objectId, setObjectId] = useState('');
  const { data: objectRoles } = useFetch<Page<Role>>(objectId ? `/api/v2/${path}/${objectId}/object_roles/?page_size=50` : undefined);
  const [error, setError] = useState('');
  const change = async (body: Record<string, unknown>) => {
    setError('');
    try { await post(`${holderUrl}roles/`, body); await reload(); } catch (err) { setError((err as Error).message); }
  };
  const title = holder ? (holder.name ?? holder.username) : '…';
  // Only objects the caller administers can be granted: offer those.
  const grantable = (objects?.results ?? []).filter((o) => o.summary_fields?.user_capabilities?.edit);
  return (
    <div>
      <div class="page-head"><h1><Link href={`/${props.kind}`}>{props.kind === 'users' ? 'Users' : 'Teams'}</Link> / <Link href={`/${props.kind}/${props.id}`}>{title}</Link> / Roles</h1></div>
      {loadError && <div class="error">{loadError}</div>}
      <table class="table held-roles">
        <thead><tr><th>Object</th><th>Type</th><th>Role</th><th /></tr></thead>
        <tbody>
          {(held?.results ?? []).map((r) => (
            <tr key={r.id} data-role-id={r.id}>
              <td>{r.summary_fields?.resource_name ?? `${r.resource_type} ${r.resource_id}`}</td>
              <td>{String(r.resource_type).replace(/_/g, ' ')}</td>
              <td title={r.description}>{r.name}</td>
              <td class="actions"><button type="button" class="btn-small btn-danger" onClick={() => void change({ id: r.id, disassociate: true })}>Revoke</button></td>
            </tr>
          ))}
          {held && !held.results.length && <tr><td colSpan={4} class="muted">No roles.</td></tr>}
        </tbody>
      </table>
      <form class="card form grant-form" onSubmit={(e) => {
        e.preventDefault();
        const role = Number(new FormData(e.currentTarget as HTMLFormElement).get('role'));
        if (!role) { setError('Choose an object and one of its roles.'); return; }
        void change({ id: role });
      }}>
        <h2>Grant a role</h2>
        <label>Type<select name="resource_type" value={objType} onChange={(e) => { setObjType((e.currentTarget as HTMLSelectElement).value); setObjectId(''); }}>
          {ROLE_OBJECTS.map(([t, , label]) => <option value={t}>{label}</option>)}
        </select></label>
        <label>Object<select name="object" value={objectId} onChange={(e) => setObjectId((e.currentTarget as HTMLSelectElement).value)}>
          <option value="">{grantable.length ? '—' : 'none you administer'}</option>
          {grantable.map((o) => <option value={String(o.id)}>{o.name}</option>)}
        </select></label>
        <label>Role<select name="role">{(objectId ? objectRoles?.results ?? [] : []).map((r) => <option value={String(r.id)}>{r.name}</option>)}</select></label>
        <div class="form-actions"><button type="submit" class="btn-primary" disabled={!grantable.length}>Grant</button></div>
      </form>
      {error && <div class="error" role="alert">{error}</div>}
    </div>
  );
}
