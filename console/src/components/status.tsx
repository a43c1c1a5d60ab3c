/** A job status as a coloured label (AWX's colours: green success, red failure, blue running). */
export function StatusBadge(props: { status: string | undefined }) {
  const s = props.status ?? 'unknown';
  return <span class={`status status-${s}`} data-status={s}>{s === 'running' ? <span class="pulse" /> : null}{s}</span>;
}
