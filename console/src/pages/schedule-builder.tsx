import '../components/setup-forms.css';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, type ApiObject, post } from '../api.js';
import { formatTime } from '../components/format.js';
import { useFetch } from '../components/use-fetch.js';
import { Link, navigate } from '../router.js';

/**
 * A schedule made from what an AWX user picks — start, time zone, frequency and interval,
 * weekdays, an end (never, after N runs, on a date) — rather than typed RRULE text. The
 * RRULE is built here, shown, and sent to `/schedules/preview/` as it changes, so the next
 * runs are on screen before anything is saved; the schedule is then created on the
 * template's `schedules/` list.
 */
export interface ScheduleChoice {
  start: string; // datetime-local: 2026-12-01T09:00
  timezone: string;
  frequency: 'once' | 'MINUTELY' | 'HOURLY' | 'DAILY' | 'WEEKLY' | 'MONTHLY' | 'YEARLY';
  interval: number;
  weekdays: string[];
  end: 'never' | 'count' | 'until';
  count: number;
  until: string; // datetime-local
}

export const WEEKDAYS: [string, string][] = [['MO', 'Mon'], ['TU', 'Tue'], ['WE', 'Wed'], ['TH', 'Thu'], ['FR', 'Fri'], ['SA', 'Sat'], ['SU', 'Sun']];

const wall = (local: string) => local.replace(/[-:]/g, '').replace(/(T\d{4})$/, '$100').slice(0, 15);

/** AWX's rule text: `DTSTART;TZID=Zone:YYYYMMDDTHHMMSS RRULE:FREQ=…;INTERVAL=…`; "once" is AWX UI's one-run rule. */
export function buildRrule(c: ScheduleChoice): string {
  const dtstart = c.timezone === 'UTC' ? `DTSTART:${wall(c.start)}Z` : `DTSTART;TZID=${c.timezone}:${wall(c.start)}`;
  if (c.frequency === 'once') return `${dtstart} RRULE:FREQ=MINUTELY;INTERVAL=1;COUNT=1`;
  const parts = [`FREQ=${c.frequency}`, `INTERVAL=${Math.max(1, Math.floor(c.interval) || 1)}`];
  if (c.frequency === 'WEEKLY' && c.weekdays.length) parts.push(`BYDAY=${WEEKDAYS.map(([d]) => d).filter((d) => c.weekdays.includes(d)).join(',')}`);
  if (c.end === 'count') parts.push(`COUNT=${Math.max(1, Math.floor(c.count) || 1)}`);
  // UNTIL in UTC when the start has a zone (RFC 5545), as AWX's UI writes it.
  if (c.end === 'until' && c.until) parts.push(`UNTIL=${c.timezone === 'UTC' ? `${wall(c.until)}Z` : untilUtc(c.until, c.timezone)}`);
  return `${dtstart} RRULE:${parts.join(';')}`;
}

/** A wall time in `zone` as UTC `YYYYMMDDTHHMMSSZ`. */
function untilUtc(local: string, zone: string): string {
  const asUtc = Date.parse(`${local}:00Z`);
  // The zone's offset at that instant, from how Intl shows it there.
  const shown = new Intl.DateTimeFormat('en-CA', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(new Date(asUtc)).replace(', ', 'T');
  const offset = Date.parse(`${shown}Z`) - asUtc;
  return new Date(asUtc - offset).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

function defaultStart(): string {
  const d = new Date(Date.now() + 3600_000);
  d.setMinutes(0, 0, 0);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:00`;
}

export function ScheduleBuilderPage(props: { templateId: number }) {
  const base = `/api/v2/job_templates/${props.templateId}/`;
  const { data: jt } = useFetch<ApiObject>(base);
  const browserZone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  const [name, setName] = useState('');
  const [c, setC] = useState<ScheduleChoice>({ start: defaultStart(), timezone: browserZone, frequency: 'DAILY', interval: 1, weekdays: [],
    end: 'never', count: 5, until: '' });
  const [preview, setPreview] = useState<{ local: string[]; utc: string[] } | undefined>(undefined);
  const [previewError, setPreviewError] = useState('');
  const [error, setError] = useState('');
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const rrule = buildRrule(c);
  useEffect(() => {
    let live = true;
    const t = setTimeout(() => {
      void post<{ local: string[]; utc: string[] }>('/api/v2/schedules/preview/', { rrule })
        .then((p) => { if (live) { setPreview(p); setPreviewError(''); } })
        .catch((err: Error) => { if (live) { setPreview(undefined); setPreviewError(err.message); } });
    }, 200);
    return () => { live = false; clearTimeout(t); };
  }, [rrule]);
  const set = <K extends keyof ScheduleChoice>(k: K, v: ScheduleChoice[K]) => setC((prev) => ({ ...prev, [k]: v }));
  if (!jt) return <div class="muted">Loading…</div>;
  const may = !!jt.summary_fields?.user_capabilities?.schedule;
  const zones = [...new Set(['UTC', browserZone, ...(Intl as unknown as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf?.('timeZone') ?? []])];

  return (
    <div>
      <div class="page-head"><h1><Link href="/templates">Templates</Link> / <Link href={`/templates/job_template/${props.templateId}`}>{jt.name}</Link> / New schedule</h1></div>
      {!may && <p class="muted" data-testid="no-schedule">Scheduling this template needs execute on it.</p>}
      <form class="card form schedule-form" onSubmit={async (e) => {
        e.preventDefault();
        setError('');
        setFieldErrors({});
        if (!name.trim()) { setFieldErrors({ name: 'A schedule needs a name.' }); return; }
        if (c.frequency === 'WEEKLY' && !c.weekdays.length) { setFieldErrors({ weekdays: 'Choose at least one day.' }); return; }
        if (c.end === 'until' && (!c.until || c.until <= c.start)) { setFieldErrors({ until: 'The end must come after the start.' }); return; }
        try {
          await post(`${base}schedules/`, { name: name.trim(), rrule, enabled: true });
          navigate(`/templates/job_template/${props.templateId}`);
        } catch (err) {
          const b = err instanceof ApiError ? err.body as Record<string, unknown> : undefined;
          if (b && (b.rrule || b.name)) setFieldErrors(Object.fromEntries(Object.entries(b).map(([k, v]) => [k, Array.isArray(v) ? v.join(' ') : String(v)])));
          setError(`Not saved: ${(err as Error).message}`);
        }
      }}>
        <fieldset disabled={!may}>
          <label>Name *<input name="name" value={name} onInput={(e) => setName((e.currentTarget as HTMLInputElement).value)} />
            {fieldErrors.name && <span class="field-error" role="alert" data-field="name">{fieldErrors.name}</span>}</label>
          <label>Start<input name="start" type="datetime-local" value={c.start} onInput={(e) => set('start', (e.currentTarget as HTMLInputElement).value)} /></label>
          <label>Time zone<select name="timezone" value={c.timezone} onChange={(e) => set('timezone', (e.currentTarget as HTMLSelectElement).value)}>
            {zones.map((z) => <option value={z}>{z}</option>)}</select></label>
          <label>Repeat<select name="frequency" value={c.frequency} onChange={(e) => set('frequency', (e.currentTarget as HTMLSelectElement).value as ScheduleChoice['frequency'])}>
            {[['once', 'Once'], ['MINUTELY', 'Every minute'], ['HOURLY', 'Hourly'], ['DAILY', 'Daily'], ['WEEKLY', 'Weekly'], ['MONTHLY', 'Monthly'], ['YEARLY', 'Yearly']]
              .map(([v, l]) => <option value={v}>{l}</option>)}</select></label>
          {c.frequency !== 'once' && <>
            <label>Every (interval)<input name="interval" type="number" min={1} value={c.interval} onInput={(e) => set('interval', Number((e.currentTarget as HTMLInputElement).value))} /></label>
            {c.frequency === 'WEEKLY' && (
              <div class="weekdays" role="group" aria-label="On days">
                {WEEKDAYS.map(([d, l]) => (
                  <label class="check" key={d}><input type="checkbox" name={`day_${d}`} checked={c.weekdays.includes(d)}
                    onChange={(e) => set('weekdays', (e.currentTarget as HTMLInputElement).checked ? [...c.weekdays, d] : c.weekdays.filter((x) => x !== d))} /> {l}</label>
                ))}
                {fieldErrors.weekdays && <span class="field-error" role="alert" data-field="weekdays">{fieldErrors.weekdays}</span>}
              </div>
            )}
            <label>Ends<select name="end" value={c.end} onChange={(e) => set('end', (e.currentTarget as HTMLSelectElement).value as ScheduleChoice['end'])}>
              <option value="never">Never</option><option value="count">After a number of runs</option><option value="until">On a date</option></select></label>
            {c.end === 'count' && <label>Runs<input name="count" type="number" min={1} value={c.count} onInput={(e) => set('count', Number((e.currentTarget as HTMLInputElement).value))} /></label>}
            {c.end === 'until' && <label>End date<input name="until" type="datetime-local" value={c.until} onInput={(e) => set('until', (e.currentTarget as HTMLInputElement).value)} />
              {fieldErrors.until && <span class="field-error" role="alert" data-field="until">{fieldErrors.until}</span>}</label>}
          </>}
          <label>Rule<code class="rrule" data-testid="rrule">{rrule}</code>
            {fieldErrors.rrule && <span class="field-error" role="alert" data-field="rrule">{fieldErrors.rrule}</span>}</label>
        </fieldset>
        <div class="preview" data-testid="preview">
          <div class="picker-label">Next runs ({c.timezone})</div>
          {previewError && <div class="error">{previewError}</div>}
          {preview && !preview.local.length && <div class="muted">No run after now.</div>}
          <ol>{(preview?.local ?? []).map((t, i) => <li key={t}>{t.replace('T', ' ')} <span class="muted">({formatTime(preview!.utc[i])})</span></li>)}</ol>
        </div>
        {error && <div class="error" role="alert">{error}</div>}
        {may && <div class="form-actions"><button type="submit" class="btn-primary">Save schedule</button></div>}
      </form>
    </div>
  );
}
