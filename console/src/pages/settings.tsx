import { useEffect, useState } from 'preact/hooks';
import { ApiError, type Page, patch } from '../api.js';
import { useFetch } from '../components/use-fetch.js';
import { Link } from '../router.js';
import { me } from '../session.js';

/**
 * AWX's settings (`/api/v2/settings/<category>/`): superusers edit them, system auditors
 * read them, anyone else is told they are not theirs. Each setting gets the input its
 * value's type asks for (a switch, a number, text, or JSON for lists and mappings); only
 * the settings changed are sent, and the server's refusal of one shows at that setting.
 * Secret settings read back as `$encrypted$` and are left alone unless a new value is typed.
 */
const ENCRYPTED = '$encrypted$';

export function SettingsPage(props: { slug?: string }) {
  const { data: cats, error } = useFetch<Page<{ slug: string; name: string }>>('/api/v2/settings/');
  const slug = props.slug ?? 'system';
  const user = me.value;
  const mayRead = !!user && (user.is_superuser || user.is_system_auditor);
  return (
    <div>
      <div class="page-head"><h1>Settings</h1></div>
      {error && <div class="error">{error}</div>}
      <div class="tabs">
        {(cats?.results ?? []).filter((c) => c.slug !== 'all').map((c) => (
          <Link key={c.slug} href={`/settings/${c.slug}`} class={c.slug === slug ? 'tab active' : 'tab'}>{c.name.replace(/_/g, ' ')}</Link>
        ))}
      </div>
      {mayRead ? <SettingsCategory key={slug} slug={slug} editable={!!user?.is_superuser} />
        : <p class="muted">Settings are shown to superusers and system auditors only.</p>}
    </div>
  );
}

function SettingsCategory(props: { slug: string; editable: boolean }) {
  const { data, error, reload } = useFetch<Record<string, unknown>>(`/api/v2/settings/${props.slug}/`);
  const [draft, setDraft] = useState<Record<string, string | boolean>>({});
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [message, setMessage] = useState('');
  useEffect(() => { setDraft({}); setErrors({}); }, [data]);
  if (error) return <div class="error">{error}</div>;
  if (!data) return <div class="muted">Loading…</div>;

  async function save(e: Event) {
    e.preventDefault();
    setMessage('');
    const body: Record<string, unknown> = {};
    const problems: Record<string, string> = {};
    for (const [k, v] of Object.entries(draft)) {
      const was = data![k];
      if (typeof was === 'boolean') body[k] = v;
      else if (typeof was === 'number') { const n = Number(v); if (v === '' || !Number.isFinite(n)) problems[k] = 'A number is required.'; else body[k] = n; }
      else if (was !== null && typeof was === 'object') { try { body[k] = JSON.parse(String(v)); } catch { problems[k] = 'Not valid JSON.'; } }
      else body[k] = v;
    }
    setErrors(problems);
    if (Object.keys(problems).length) { setMessage('Not saved: fix the settings marked above.'); return; }
    if (!Object.keys(body).length) { setMessage('Nothing changed.'); return; }
    try {
      await patch(`/api/v2/settings/${props.slug}/`, body);
      setMessage('Saved.');
      await reload();
    } catch (err) {
      const b = err instanceof ApiError && err.body && typeof err.body === 'object' ? err.body as Record<string, unknown> : {};
      setErrors(Object.fromEntries(Object.entries(b).filter(([k]) => k in data!).map(([k, v]) => [k, Array.isArray(v) ? v.join(' ') : String(v)])));
      setMessage(`Not saved: ${(err as Error).message}`);
    }
  }

  return (
    <form class="card form settings" onSubmit={save} data-slug={props.slug}>
      <fieldset disabled={!props.editable}>
        {Object.entries(data).map(([k, v]) => {
          const d = draft[k];
          const set = (x: string | boolean) => setDraft({ ...draft, [k]: x });
          const err = errors[k] ? <span class="field-error" role="alert" data-field={k}>{errors[k]}</span> : null;
          if (typeof v === 'boolean') {
            return <label class="check" key={k}><input type="checkbox" name={k} checked={d === undefined ? v : !!d} onChange={(e) => set((e.currentTarget as HTMLInputElement).checked)} /> {k}{err}</label>;
          }
          if (v !== null && typeof v === 'object') {
            return <label key={k}>{k}<textarea name={k} rows={Array.isArray(v) && v.length < 4 ? 2 : 5} spellcheck={false}
              value={d === undefined ? JSON.stringify(v, null, 2) : String(d)} onInput={(e) => set((e.currentTarget as HTMLTextAreaElement).value)} />{err}</label>;
          }
          if (v === ENCRYPTED) {
            return <label key={k}>{k}<input name={k} type="password" autocomplete="new-password" placeholder="stored — leave blank to keep"
              value={d === undefined ? '' : String(d)} onInput={(e) => set((e.currentTarget as HTMLInputElement).value)} />{err}</label>;
          }
          const onInput = (e: Event) => set((e.currentTarget as HTMLInputElement).value);
          const shown = d === undefined ? String(v ?? '') : String(d);
          return <label key={k}>{k}{typeof v === 'number' ? <input name={k} type="number" value={shown} onInput={onInput} />
            : <input name={k} type="text" value={shown} onInput={onInput} />}{err}</label>;
        })}
      </fieldset>
      {message && <div class={message === 'Saved.' || message === 'Nothing changed.' ? 'muted' : 'error'} role="status">{message}</div>}
      {props.editable && <div class="form-actions"><button type="submit" class="btn-primary">Save</button></div>}
    </form>
  );
}
