import { useEffect, useState } from 'preact/hooks';
import { type ApiObject, get, type Page, post } from '../api.js';

/**
 * Choosing several objects from an AWX list (a template's credentials, labels, instance
 * groups, notifications): the chosen ones as removable chips, the others in a select.
 * What was chosen is saved through the parent's sub-list (`/job_templates/N/labels/`) by
 * `saveAssociations`, as AWX's UI does after the object itself is saved.
 */
export interface Picked { id: number; name: string; kind?: string }

export function MultiPicker(props: { name: string; label: string; listUrl: string; value: Picked[]; onChange: (v: Picked[]) => void;
  kindOf?: (o: ApiObject) => string; disabled?: boolean; hint?: string }) {
  const [options, setOptions] = useState<ApiObject[]>([]);
  useEffect(() => {
    void get<Page<ApiObject>>(`${props.listUrl}${props.listUrl.includes('?') ? '&' : '?'}page_size=200&order_by=name`)
      .then((p) => setOptions(p.results)).catch(() => setOptions([]));
  }, [props.listUrl]);
  const chosen = new Set(props.value.map((p) => p.id));
  return (
    <div class="picker" data-picker={props.name}>
      <div class="picker-label">{props.label}</div>
      <div class="chips">
        {props.value.map((p) => (
          <span class="chip" key={p.id} data-id={p.id}>
            {p.kind ? <span class="muted">{p.kind}: </span> : null}{p.name}
            {!props.disabled && <button type="button" class="chip-x" title={`Remove ${p.name}`} onClick={() => props.onChange(props.value.filter((x) => x.id !== p.id))}>×</button>}
          </span>
        ))}
        {!props.value.length && <span class="muted">none</span>}
      </div>
      {!props.disabled && (
        <select name={props.name} value="" onChange={(e) => {
          const id = Number((e.currentTarget as HTMLSelectElement).value);
          const o = options.find((x) => x.id === id);
          if (o) props.onChange([...props.value, { id, name: String(o.name ?? id), kind: props.kindOf?.(o) }]);
        }}>
          <option value="">{props.hint ?? 'add…'}</option>
          {options.filter((o) => !chosen.has(o.id)).map((o) => <option value={String(o.id)}>{o.name}</option>)}
        </select>
      )}
    </div>
  );
}

/** The objects now in a sub-list, as chips. */
export async function loadPicked(listUrl: string, kindOf?: (o: ApiObject) => string): Promise<Picked[]> {
  const page = await get<Page<ApiObject>>(`${listUrl}?page_size=200&order_by=id`);
  return page.results.map((o) => ({ id: o.id, name: String(o.name ?? o.id), kind: kindOf?.(o) }));
}

/** Associates what was added and disassociates what was removed (AWX: POST `{id}` / `{id, disassociate: true}`). */
export async function saveAssociations(listUrl: string, before: Picked[], after: Picked[]): Promise<void> {
  const had = new Set(before.map((p) => p.id));
  const has = new Set(after.map((p) => p.id));
  for (const p of before) if (!has.has(p.id)) await post(listUrl, { id: p.id, disassociate: true });
  for (const p of after) if (!had.has(p.id)) await post(listUrl, { id: p.id });
}
