import { useEffect, useState } from 'preact/hooks';
import { ApiError, type ApiObject, get, type Page, post, request } from '../api.js';
import { useFetch } from '../components/use-fetch.js';
import { varsProblem } from '../components/vars.js';
import { Link, navigate } from '../router.js';
import { me } from '../session.js';

/**
 * An ad hoc command on an inventory (AWX's "Run command"): a module from the server's
 * AD_HOC_COMMANDS list with its arguments, the hosts to limit it to, a machine credential,
 * verbosity, forks, privilege escalation and extra variables; it starts at once and the
 * page moves to its output, streamed live like a job's. Offered only where the inventory's
 * `user_capabilities.adhoc` says the user may run commands on it.
 */
const FALLBACK_MODULES = ['command', 'shell', 'ping', 'setup'];

export function AdHocPage(props: { inventoryId: number }) {
  const { data: inv, error } = useFetch<ApiObject>(`/api/v2/inventories/${props.inventoryId}/`);
  const [modules, setModules] = useState<string[]>(FALLBACK_MODULES);
  const [creds, setCreds] = useState<ApiObject[]>([]);
  const [v, setV] = useState({ module_name: 'command', module_args: '', limit: 'all', credential: '', verbosity: '0', forks: '0', become_enabled: false, extra_vars: '' });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [message, setMessage] = useState('');
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    // The modules the server accepts (AWX's AD_HOC_COMMANDS): named by the list's OPTIONS
    // where it gives choices, else read from the setting by those who may read settings;
    // others get the four every default allows.
    void request<{ actions?: { POST?: { module_name?: { choices?: [string, string][] } } } }>('OPTIONS', `/api/v2/inventories/${props.inventoryId}/ad_hoc_commands/`)
      .then(async (o) => {
        const c = o?.actions?.POST?.module_name?.choices;
        if (c?.length) { setModules(c.map(([k]) => k)); return; }
        if (!me.value?.is_superuser && !me.value?.is_system_auditor) return;
        const jobs = await get<{ AD_HOC_COMMANDS?: string[] }>('/api/v2/settings/jobs/');
        if (jobs.AD_HOC_COMMANDS?.length) setModules(jobs.AD_HOC_COMMANDS);
      }).catch(() => undefined);
    void get<Page<ApiObject>>('/api/v2/credentials/?credential_type__namespace=ssh&order_by=name&page_size=200')
      .then((p) => setCreds(p.results)).catch(() => setCreds([]));
  }, [props.inventoryId]);

  if (error) return <div class="error">{error}</div>;
  if (!inv) return <div class="muted">Loading…</div>;
  const may = !!inv.summary_fields?.user_capabilities?.adhoc;
  const set = (k: keyof typeof v) => (e: Event) => {
    const t = e.currentTarget as HTMLInputElement;
    setV({ ...v, [k]: t.type === 'checkbox' ? t.checked : t.value });
  };

  async function run(e: Event) {
    e.preventDefault();
    setMessage('');
    const problem = varsProblem(v.extra_vars);
    if (problem) { setErrors({ extra_vars: problem }); setMessage('Not started: fix the fields marked above.'); return; }
    setErrors({});
    setBusy(true);
    try {
      const made = await post<ApiObject>(`/api/v2/inventories/${props.inventoryId}/ad_hoc_commands/`, {
        module_name: v.module_name, module_args: v.module_args, limit: v.limit, credential: v.credential ? Number(v.credential) : null,
        verbosity: Number(v.verbosity), forks: Number(v.forks), become_enabled: v.become_enabled, extra_vars: v.extra_vars,
      });
      navigate(`/jobs/ad_hoc_command/${made.id}/output`);
    } catch (err) {
      const b = err instanceof ApiError && err.body && typeof err.body === 'object' ? err.body as Record<string, unknown> : {};
      setErrors(Object.fromEntries(Object.entries(b).filter(([k]) => k in v).map(([k, x]) => [k, Array.isArray(x) ? x.join(' ') : String(x)])));
      setMessage(`Not started: ${(err as Error).message}`);
    } finally {
      setBusy(false);
    }
  }

  const err = (k: string) => errors[k] ? <span class="field-error" role="alert" data-field={k}>{errors[k]}</span> : null;
  return (
    <div>
      <div class="page-head"><h1><Link href="/inventories">Inventories</Link> / <Link href={`/inventories/${inv.id}`}>{inv.name}</Link> / Run command</h1></div>
      {!may && <p class="muted">You may not run commands on this inventory.</p>}
      {may && (
        <form class="card form" onSubmit={run} data-testid="ad-hoc-form">
          <fieldset disabled={busy}>
            <label>Module *<select name="module_name" value={v.module_name} onChange={set('module_name')}>{modules.map((m) => <option value={m}>{m}</option>)}</select>{err('module_name')}</label>
            <label>Arguments<input name="module_args" value={v.module_args} onInput={set('module_args')} placeholder="e.g. uptime" />{err('module_args')}</label>
            <label>Limit (hosts or groups)<input name="limit" value={v.limit} onInput={set('limit')} />{err('limit')}</label>
            <label>Machine credential<select name="credential" value={v.credential} onChange={set('credential')}>
              <option value="">—</option>{creds.map((c) => <option value={String(c.id)}>{c.name}</option>)}
            </select>{err('credential')}</label>
            <label>Verbosity<select name="verbosity" value={v.verbosity} onChange={set('verbosity')}>
              {['0 (normal)', '1 (verbose)', '2 (more verbose)', '3 (debug)', '4 (connection debug)', '5 (WinRM debug)'].map((l, i) => <option value={String(i)}>{l}</option>)}
            </select></label>
            <label>Forks (0: the default)<input name="forks" type="number" min={0} value={v.forks} onInput={set('forks')} />{err('forks')}</label>
            <label class="check"><input type="checkbox" name="become_enabled" checked={v.become_enabled} onChange={set('become_enabled')} /> Privilege escalation</label>
            <label>Extra variables (YAML or JSON)<textarea name="extra_vars" rows={4} spellcheck={false} value={v.extra_vars} onInput={set('extra_vars')} />{err('extra_vars')}</label>
          </fieldset>
          {message && <div class="error" role="alert">{message}</div>}
          <div class="form-actions"><button type="submit" class="btn-primary" disabled={busy}>Run</button></div>
        </form>
      )}
    </div>
  );
}
