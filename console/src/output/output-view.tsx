import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { isJobEventFor, liveSocket, type WsMessage } from '../ws.js';
import type { Line } from './ansi.js';
import { EventDetail } from './event-detail.js';
import { EventStore, type JobEvent } from './event-store.js';
import { hiddenRanges, VisibleLines } from './visible-lines.js';

/**
 * A job's stdout, windowed: only the rows on screen (plus 20 above and below) exist in
 * the DOM, whatever the job's size. Rows are a fixed 18 px, so the scroll position alone
 * says which lines to draw. Browsers cap an element's height (Chrome ~33.5 M px, Firefox
 * ~17.9 M px); past 10 M px (≈ 555,000 lines) the scrollbar is scaled instead, so a
 * 1,000,000-line job still scrolls end to end.
 */
const LINE_PX = 18;
const OVERSCAN = 20;
const MAX_SCROLL_PX = 10_000_000;

export interface OutputViewProps {
  jobId: number;
  /** `/api/v2/jobs/42/job_events/` (or another kind's events list). */
  eventsUrl: string;
  /** Websocket group holding this job's events (`job_events`, `project_update_events`, ...). */
  wsGroup: string;
  running: boolean;
  downloadUrl?: string;
  /** `/api/v2/jobs/42/stdout/`: the plain text, streamed for search where the events filter is missing. */
  stdoutUrl?: string;
  /** Called with each live event and the moment it arrived (per-job lag). */
  onLiveEvent?: (ev: JobEvent, receivedAt: number) => void;
}

export function OutputView(props: OutputViewProps) {
  const { jobId, eventsUrl, wsGroup, running } = props;
  const [, setTick] = useState(0);
  const frame = useRef(0);
  const scroller = useRef<HTMLDivElement>(null);
  const follow = useRef(running);
  const programmatic = useRef(false);
  const pendingEnd = useRef(false);
  const [followOn, setFollowOn] = useState(running);
  const [collapsed, setCollapsed] = useState<Set<number>>(() => new Set());
  const [search, setSearch] = useState({ term: '', matches: [] as { line: number; counter: number }[], at: -1, busy: false });
  const liveCount = useRef(0);
  /** The counter of the event whose detail panel is open (a click on its line). */
  const [detail, setDetail] = useState<number | undefined>();
  const liveRef = useRef(props.onLiveEvent);
  liveRef.current = props.onLiveEvent;

  const store = useMemo(() => new EventStore(eventsUrl, () => {
    if (frame.current) return;
    frame.current = requestAnimationFrame(() => { frame.current = 0; setTick((t) => t + 1); });
  }), [eventsUrl]);

  useEffect(() => {
    let sub: { close(): void } | undefined;
    let offMsg: (() => void) | undefined;
    let offReconnect: (() => void) | undefined;
    if (running) {
      offMsg = liveSocket.onMessage((msg: WsMessage, receivedAt) => {
        if (isJobEventFor(msg, jobId) && typeof msg.counter === 'number') {
          liveCount.current++;
          store.addLive(msg as JobEvent);
          liveRef.current?.(msg as JobEvent, receivedAt);
        } else if (msg.group_name === 'control' && msg.group === `${wsGroup}-${jobId}`) {
          // The server's queue for us overflowed and dropped [from, to]: fetch it over REST.
          const range = msg.missed_counters as [number, number] | null;
          if (range) store.fillGap(range[1], range[0] - 1);
          else store.fillGap(Number.MAX_SAFE_INTEGER);
        }
      });
      offReconnect = liveSocket.onReconnect(() => store.fillGap(Number.MAX_SAFE_INTEGER));
      sub = liveSocket.subscribe({ [wsGroup]: [jobId] });
    }
    void store.init(!running).then(() => {
      if (follow.current) scrollToEnd();
    });
    return () => { sub?.close(); offMsg?.(); offReconnect?.(); store.close(); cancelAnimationFrame(frame.current); frame.current = 0; };
  }, [store]);

  // Only a job that finishes while watched has stragglers to catch; one opened finished has none.
  const wasRunning = useRef(running);
  useEffect(() => {
    if (wasRunning.current && !running) store.markFinished();
    wasRunning.current = running;
  }, [running, store]);

  // Recomputed only when the collapsed set, the headers known or the line count change.
  const visible = useMemo(() => new VisibleLines(hiddenRanges(store, collapsed), store.totalLines),
    [store, collapsed, store.headersVersion, store.totalLines]);
  const rows = visible.rows;
  const realPx = rows * LINE_PX;
  const scrollPx = Math.min(realPx, MAX_SCROLL_PX);
  const el = scroller.current;
  const viewport = el?.clientHeight ?? 600;
  const perScreen = Math.ceil(viewport / LINE_PX);
  const scrollTop = el?.scrollTop ?? 0;
  let firstRow: number;
  if (realPx <= MAX_SCROLL_PX) {
    firstRow = Math.floor(scrollTop / LINE_PX);
  } else {
    const ratio = Math.min(1, scrollTop / Math.max(1, scrollPx - viewport));
    firstRow = Math.round(ratio * Math.max(0, rows - perScreen));
  }
  const from = Math.max(0, firstRow - OVERSCAN);
  const to = Math.min(rows, firstRow + perScreen + OVERSCAN);
  const lineNumbers: number[] = [];
  for (let r = from; r < to; r++) lineNumbers.push(visible.rowToLine(r));

  useEffect(() => {
    if (lineNumbers.length) store.ensure(lineNumbers);
    if (pendingEnd.current && store.ready) scrollToEnd();
    if (follow.current && el && el.scrollTop + el.clientHeight < el.scrollHeight - 2) scrollToEnd();
  });

  function scrollToEnd() {
    const s = scroller.current;
    if (!s) return;
    // Before the tail is known the spacer only spans the first segment: go there once it is.
    pendingEnd.current = !store.ready;
    programmatic.current = true;
    s.scrollTop = s.scrollHeight;
  }

  function scrollToRow(row: number) {
    const s = scroller.current;
    if (!s) return;
    const target = Math.max(0, row - Math.floor(perScreen / 3));
    s.scrollTop = realPx <= MAX_SCROLL_PX ? target * LINE_PX : (target / Math.max(1, rows - perScreen)) * (scrollPx - viewport);
  }

  function onScroll() {
    const s = scroller.current!;
    if (programmatic.current) {
      programmatic.current = false;
    } else {
      const atEnd = s.scrollTop + s.clientHeight >= s.scrollHeight - LINE_PX * 2;
      if (follow.current !== atEnd && (running || !atEnd)) { follow.current = atEnd && running; setFollowOn(follow.current); }
    }
    setTick((t) => t + 1);
  }

  function toggle(line: number) {
    const next = new Set(collapsed);
    if (next.has(line)) next.delete(line);
    else {
      next.add(line);
      const h = store.headerAt(line);
      if (h) void store.loadSectionEnd(h);
    }
    setCollapsed(next);
  }

  /** Folds every play: the play index (one filtered query, read once) names them all. */
  async function collapsePlays() {
    if (!store.playsComplete) await store.loadPlays();
    setCollapsed(new Set(store.plays().map((h) => h.line)));
  }

  async function runSearch(term: string, direction: 1 | -1) {
    if (!term) return;
    let { matches, at } = search.term === term ? search : { matches: [] as { line: number; counter: number }[], at: -1 };
    if (!matches.length || (direction === 1 && at === matches.length - 1)) {
      setSearch({ term, matches, at, busy: true });
      const more = await store.search(term, matches.length ? matches[matches.length - 1].counter : 0, props.stdoutUrl).catch(() => []);
      matches = matches.concat(more.filter((m) => !matches.some((x) => x.line === m.line)));
    }
    at = matches.length ? (at + direction + matches.length) % matches.length : -1;
    setSearch({ term, matches, at, busy: false });
    if (at >= 0) {
      const line = matches[at].line;
      // A match inside a collapsed section opens it.
      let shown = visible;
      if (visible.hides(line)) {
        const next = new Set(collapsed);
        for (const c of collapsed) {
          const h = store.headerAt(c);
          if (h && h.line < line && (store.nextHeaderLine(h) ?? Infinity) > line) next.delete(c);
        }
        setCollapsed(next);
        shown = new VisibleLines(hiddenRanges(store, next), store.totalLines);
      }
      follow.current = false;
      setFollowOn(false);
      scrollToRow(shown.lineToRow(line));
    }
  }

  const current = search.at >= 0 ? search.matches[search.at]?.line : undefined;
  return (
    <div class="output" data-ready={String(store.ready)} data-total-lines={store.totalLines} data-loaded-segments={store.loadedSegments}
      data-high-water={store.highWater} data-duplicates={store.stats.duplicates} data-evicted={store.stats.evicted}
      data-live-events={liveCount.current} data-rows={rows} data-plays-complete={String(store.playsComplete)}>
      <div class="output-toolbar">
        <form class="output-search" onSubmit={(e) => { e.preventDefault(); void runSearch((e.currentTarget.elements.namedItem('q') as HTMLInputElement).value, 1); }}>
          <input name="q" type="search" placeholder="Search output" aria-label="Search output" />
          <button type="button" class="btn-small" title="Previous match" onClick={() => void runSearch(search.term, -1)}>↑</button>
          <button type="submit" class="btn-small" title="Next match">↓</button>
          <span class="muted search-count">{search.busy ? 'searching…' : search.term ? (search.matches.length ? `${search.at + 1} of ${search.matches.length}` : 'no matches') : ''}</span>
        </form>
        <span class="spacer" />
        <button type="button" class="btn-small" onClick={() => void collapsePlays()}
          onPointerEnter={() => { if (store.ready && !store.playsComplete) void store.loadPlays(); }}>Collapse plays</button>
        <button type="button" class="btn-small" onClick={() => setCollapsed(new Set())}>Expand all</button>
        {running && (
          <button type="button" class={`btn-small${followOn ? ' active' : ''}`} onClick={() => { follow.current = !follow.current; setFollowOn(follow.current); if (follow.current) scrollToEnd(); }}>
            {followOn ? 'Following' : 'Follow'}
          </button>
        )}
        <button type="button" class="btn-small" onClick={() => { follow.current = false; pendingEnd.current = false; setFollowOn(false); scroller.current!.scrollTop = 0; }}>Top</button>
        <button type="button" class="btn-small" onClick={() => { follow.current = running; setFollowOn(running); scrollToEnd(); }}>End</button>
        {props.downloadUrl && <a class="btn-small" href={props.downloadUrl} download>Download</a>}
        <span class="muted">{store.totalLines.toLocaleString()} lines</span>
      </div>
      <div class="output-scroll" ref={scroller} onScroll={onScroll} tabIndex={0}>
        <div class="output-spacer" style={{ height: `${scrollPx}px` }}>
          <div class="output-rows" style={{ transform: `translateY(${(realPx <= MAX_SCROLL_PX ? from * LINE_PX : scrollTop - (firstRow - from) * LINE_PX)}px)` }}>
            {lineNumbers.map((line) => {
              const l = store.line(line);
              return (
                <div key={line} class={`row${l?.kind === 4 ? ' row-failed' : ''}${l?.header ? ' row-header' : ''}${line === current ? ' row-match' : ''}`} data-line={line + 1}>
                  <span class="gutter">
                    {l?.header ? <button type="button" class="fold" aria-label={collapsed.has(line) ? 'Expand' : 'Collapse'} onClick={() => toggle(line)}>{collapsed.has(line) ? '▸' : '▾'}</button> : null}
                    {line + 1}
                  </span>
                  <span class="text" onClick={l ? () => setDetail(l.counter) : undefined}>{l ? renderSpans(l.spans, search.term) : <span class="loading">…</span>}</span>
                </div>
              );
            })}
          </div>
        </div>
      </div>
      {detail !== undefined && <EventDetail key={detail} eventsUrl={props.eventsUrl} counter={detail} onClose={() => setDetail(undefined)} />}
    </div>
  );
}

function renderSpans(spans: Line, term: string) {
  if (!term) return spans.map((s, i) => (s.cls ? <span key={i} class={s.cls}>{s.text}</span> : s.text));
  const needle = term.toLowerCase();
  return spans.map((s, i) => {
    const lower = s.text.toLowerCase();
    if (!lower.includes(needle)) return s.cls ? <span key={i} class={s.cls}>{s.text}</span> : s.text;
    const parts = [];
    let at = 0;
    for (let k = lower.indexOf(needle); k >= 0; k = lower.indexOf(needle, at)) {
      if (k > at) parts.push(s.text.slice(at, k));
      parts.push(<mark>{s.text.slice(k, k + needle.length)}</mark>);
      at = k + needle.length;
    }
    parts.push(s.text.slice(at));
    return <span key={i} class={s.cls}>{parts}</span>;
  });
}
