/** AWX-style pagination: previous / next with the count. */
export function Pager(props: { page: number; pageSize: number; count: number; onPage: (p: number) => void }) {
  const { page, pageSize, count } = props;
  const pages = Math.max(1, Math.ceil(count / pageSize));
  return (
    <div class="pager">
      <button type="button" class="btn-small" disabled={page <= 1} onClick={() => props.onPage(page - 1)}>‹ Prev</button>
      <span class="muted">page {page} of {pages} · {count.toLocaleString()} items</span>
      <button type="button" class="btn-small" disabled={page >= pages} onClick={() => props.onPage(page + 1)}>Next ›</button>
    </div>
  );
}
