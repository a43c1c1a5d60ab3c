import { useEffect, useState } from 'preact/hooks';
import { type ApiObject, del, type Page, request, withQuery } from '../api.js';
import { Link } from '../router.js';
import { isAdmin } from '../session.js';
import { Pager } from './pager.js';
import { useFetch } from './use-fetch.js';

/**
 * A paged AWX list with edit and delete where the row's `user_capabilities` allow them,
 * and an Add button where the list's OPTIONS answer offers POST (AWX's own test of
 * "may this user create here"); when OPTIONS is not answered, only a superuser sees it.
 */
export interface Column {
  key: string; label: string; render?: (o: ApiObject) => preact.ComponentChildren;
  /** The `order_by` field a click on the header sorts by: the column's key for a plain column, none for a rendered one unless given. */
  sort?: string | false;
}
export const sortField = (c: Column): string | undefined => (c.sort === false ? undefined : c.sort ?? (c.render ? undefined : c.key));
export interface RowAction { label: string; show: (o: ApiObject) => boolean; run: (o: ApiObject) => Promise<void> }

const PAGE_SIZE = 20;

export function ResourceTable(props: { listUrl: string; columns: Column[]; hrefOf?: (o: ApiObject) => string; addHref?: string;
  actions?: RowAction[]; title?: string; searchable?: boolean; defaultOrder?: string }) {
  const [page, setPage] = useState(1);
  const [search, setSearch] = useState('');
  const [order, setOrder] = useState(props.defaultOrder ?? 'id');
  const { data, error, reload } = useFetch<Page<ApiObject>>(withQuery(props.listUrl, { page, page_size: PAGE_SIZE, order_by: order, search }));
  const canAdd = useCanAdd(props.listUrl);
  const [rowError, setRowError] = useState('');
  return (
    <div class="resource-table">
      <div class="table-head">
        {props.title && <h2>{props.title}</h2>}
        {props.searchable !== false && (
          <form class="inline" onSubmit={(e) => { e.preventDefault(); setSearch(String(new FormData(e.currentTarget as HTMLFormElement).get('q') ?? '')); setPage(1); }}>
            <input name="q" placeholder="Search…" /><button type="submit" class="btn-small">Search</button>
          </form>
        )}
        <span class="spacer" />
        {canAdd && props.addHref && <Link class="btn-primary" href={props.addHref} data-testid="add">Add</Link>}
      </div>
      {(error || rowError) && <div class="error">{error || rowError}</div>}
      <table class="table">
        <thead><tr>{props.columns.map((c) => <SortHeader key={c.key} label={c.label} field={sortField(c)} order={order} onOrder={(o) => { setOrder(o); setPage(1); }} />)}<th /></tr></thead>
        <tbody>
          {(data?.results ?? []).map((o) => {
            const caps = o.summary_fields?.user_capabilities ?? {};
            return (
              <tr key={o.id} data-id={o.id}>
                {props.columns.map((c, i) => (
                  <td key={c.key}>{i === 0 && props.hrefOf ? <Link href={props.hrefOf(o)}>{c.render ? c.render(o) : String(o[c.key] ?? '')}</Link> : c.render ? c.render(o) : display(o[c.key])}</td>
                ))}
                <td class="actions">
                  {(props.actions ?? []).filter((a) => a.show(o)).map((a) => (
                    <button type="button" class="btn-small" key={a.label} onClick={() => void a.run(o).then(reload, (err: Error) => setRowError(err.message))}>{a.label}</button>
                  ))}
                  {caps.edit && props.hrefOf && <Link class="btn-small" href={props.hrefOf(o)} data-testid="edit">Edit</Link>}
                  {caps.delete && (
                    <button type="button" class="btn-small btn-danger" data-testid="delete" onClick={async () => {
                      if (!confirm(`Delete ${o.name ?? o.username ?? o.hostname ?? o.id}?`)) return;
                      try { await del(o.url); await reload(); } catch (err) { setRowError((err as Error).message); }
                    }}>Delete</button>
                  )}
                </td>
              </tr>
            );
          })}
          {data && data.results.length === 0 && <tr><td colSpan={props.columns.length + 1} class="muted">Nothing here yet.</td></tr>}
        </tbody>
      </table>
      {data && data.count > PAGE_SIZE && <Pager page={page} pageSize={PAGE_SIZE} count={data.count} onPage={setPage} />}
    </div>
  );
}

/**
 * A column header that sorts the list by AWX's `order_by`: a click sorts ascending, a second
 * click descending; `aria-sort` says which, for screen readers and tests.
 */
export function SortHeader(props: { label: string; field: string | undefined; order: string; onOrder: (order: string) => void }) {
  const { field, order } = props;
  if (!field) return <th>{props.label}</th>;
  const dir = order === field ? 'ascending' : order === `-${field}` ? 'descending' : 'none';
  return (
    <th aria-sort={dir} data-sort={field}>
      <button type="button" class="sort" onClick={() => props.onOrder(dir === 'ascending' ? `-${field}` : field)}>
        {props.label}{dir === 'ascending' ? ' ▲' : dir === 'descending' ? ' ▼' : ''}
      </button>
    </th>
  );
}

function display(v: unknown): string {
  if (v === null || v === undefined || v === '') return '—';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function useCanAdd(listUrl: string): boolean {
  const [can, setCan] = useState(false);
  useEffect(() => {
    let live = true;
    request<{ actions?: Record<string, unknown> }>('OPTIONS', listUrl)
      .then((o) => { if (live) setCan(!!o?.actions?.POST); })
      .catch(() => { if (live) setCan(isAdmin()); });
    return () => { live = false; };
  }, [listUrl]);
  return can;
}
