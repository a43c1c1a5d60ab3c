import { useEffect, useRef, useState } from 'preact/hooks';
import { get, type Page, type ApiObject } from '../api.js';
import { formatCount, formatMs, parseApiTime } from '../components/format.js';
import { isStatusChange, liveSocket, type WsMessage } from '../ws.js';
import { Chart } from './chart.js';
import { LagMeter, push, WINDOW_S } from './lag-meter.js';
import { parsePrometheus, type Sample, sum } from './prometheus.js';

/**
 * The lag dashboard: the page AWX answers with a script pasted into the browser console
 * (its debug.js gauge of `now - created`). Three sources, one point a second:
 * - events of every running job, over the websocket: this browser measures
 *   `delivered - created` itself and reads `modified - created` off each event;
 * - the `metrics` group: each receiver's live figures four times a second (events/s in and
 *   out, events waiting in Redis, batch sizes, its own `modified - created`);
 * - `/api/v2/metrics/` every 2 s: websocket queue depth, per-group overflow, dead letters.
 * Selecting a job narrows the browser's figures to that job.
 *
 * Every tile says its window and scope, and is over the last WINDOW_S seconds only: with no
 * data in them it shows "—", never the last value seen (a p99 from a run that ended minutes
 * ago is not a current figure). A receiver's latency and batch figures count only in the
 * snapshots where it stored events: its quantiles are over its most recent samples, which an
 * idle receiver keeps reporting unchanged.
 */
const EVENT_GROUP: Record<string, string> = {
  job: 'job_events', project_update: 'project_update_events', inventory_update: 'inventory_update_events',
  ad_hoc_command: 'ad_hoc_command_events', system_job: 'system_job_events',
};
const METRICS_POLL_MS = 2000;
const RECEIVER_STALE_MS = 3000;

interface Receiver { at: number; events_in_per_s: number; events_out_per_s: number; list_length: number; processing_length?: number;
  dead_lettered_total?: number; batch_size?: { p50: number; p99: number; max: number }; lag_ms?: { p50: number; p99: number; max: number } }

type Series = (number | undefined)[];

/** A web node's websocket figures (the `metrics` group, `type: "websocket"`, twice a second). */
interface WebNode { at: number; queue_depth?: { total: number; largest_client: number; by_group?: Record<string, number> };
  overflow?: { total: number; per_s: number; by_group?: Record<string, number> } }

export function LagPage() {
  const [, setTick] = useState(0);
  const meter = useRef(new LagMeter()).current;
  const tracked = useRef(new Map<number, string>());
  /** Job names for the picker, by id (from the running-jobs list, or looked up once). */
  const names = useRef(new Map<number, string>());
  const finishing = useRef(new Map<number, ReturnType<typeof setTimeout>>());
  const receivers = useRef(new Map<string, Receiver>());
  const webNodes = useRef(new Map<string, WebNode>());
  const prom = useRef<{ at: number; samples: Sample[] } | undefined>(undefined);
  const promPrev = useRef<{ at: number; samples: Sample[] } | undefined>(undefined);
  const [selected, setSelected] = useState<number | undefined>();
  const selectedRef = useRef<number | undefined>(undefined);
  selectedRef.current = selected;
  const hist = useRef({
    in: [] as Series, out: [] as Series, here: [] as Series, list: [] as Series, processing: [] as Series,
    bP50: [] as Series, bP99: [] as Series, bMax: [] as Series, rP50: [] as Series, rP99: [] as Series, rMax: [] as Series,
    depth: [] as Series, largest: [] as Series, overflow: [] as Series, dead: [] as Series,
  }).current;

  useEffect(() => {
    const sub = liveSocket.subscribe({ jobs: ['status_changed'], metrics: ['pipeline', 'websocket'], control: ['limit_reached'] });
    const resubscribe = () => {
      const groups: Record<string, number[]> = {};
      for (const [id, type] of tracked.current) (groups[EVENT_GROUP[type] ?? 'job_events'] ??= []).push(id);
      const sel = selectedRef.current;
      if (sel && !tracked.current.has(sel)) (groups.job_events ??= []).push(sel);
      sub.update({ jobs: ['status_changed'], metrics: ['pipeline', 'websocket'], control: ['limit_reached'], ...groups });
    };
    const track = (id: number, type: string, name?: string) => {
      if (name) names.current.set(id, name);
      else if (!names.current.has(id)) {
        names.current.set(id, '');
        void get<Page<ApiObject>>(`/api/v2/unified_jobs/?id=${id}`).then((p) => { if (p.results[0]?.name) names.current.set(id, p.results[0].name); })
          .catch(() => undefined);
      }
      clearTimeout(finishing.current.get(id));
      finishing.current.delete(id);
      if (!tracked.current.has(id)) { tracked.current.set(id, type); resubscribe(); }
    };
    void get<Page<ApiObject>>('/api/v2/unified_jobs/?status__in=pending,waiting,running&order_by=-id&page_size=50')
      .then((p) => { for (const j of p.results) track(j.id, j.type, j.name); }).catch(() => undefined);
    const off = liveSocket.onMessage((msg: WsMessage, receivedAt) => {
      const g = msg.group_name ?? '';
      if (g === 'metrics' && msg.type === 'websocket') {
        webNodes.current.set(`${msg.node}/${msg.instance}`, msg as unknown as WebNode);
      } else if (g === 'metrics' && typeof msg.events_in_per_s === 'number') {
        receivers.current.set(`${msg.node}/${msg.instance}`, msg as unknown as Receiver);
      } else if (isStatusChange(msg)) {
        const id = msg.unified_job_id as number;
        if (['pending', 'waiting', 'running'].includes(msg.status)) track(id, String(msg.type ?? 'job'), typeof msg.name === 'string' ? msg.name : undefined);
        else if (tracked.current.has(id) && !finishing.current.has(id)) {
          // Events committed just before the final status still arrive: keep listening 5 s.
          finishing.current.set(id, setTimeout(() => { tracked.current.delete(id); finishing.current.delete(id); resubscribe(); }, 5000));
        }
      } else if (g.includes('_events') && typeof msg.counter === 'number' && msg.created) {
        const job = Number(msg.job ?? msg.project_update ?? msg.inventory_update ?? msg.ad_hoc_command ?? msg.system_job);
        if (selectedRef.current !== undefined && job !== selectedRef.current) return;
        meter.add(parseApiTime(msg.created), parseApiTime(msg.modified), receivedAt);
      }
    });
    let polling = true;
    const poll = async () => {
      while (polling) {
        try {
          const text = await get<string>('/api/v2/metrics/', { headers: { accept: 'text/plain' } });
          promPrev.current = prom.current;
          prom.current = { at: Date.now(), samples: parsePrometheus(String(text)) };
        } catch { /* shown as — until it answers */ }
        await new Promise((r) => setTimeout(r, METRICS_POLL_MS));
      }
    };
    void poll();
    const timer = setInterval(() => {
      const now = Date.now();
      const q = meter.tick();
      let rin = 0; let rout = 0; let list = 0; let processing = 0; let any = false;
      let batch: Receiver['batch_size']; let lag: Receiver['lag_ms'];
      for (const [k, r] of receivers.current) {
        if (now - r.at > RECEIVER_STALE_MS * 10) { receivers.current.delete(k); continue; }
        if (now - r.at > RECEIVER_STALE_MS) continue;
        any = true;
        rin += r.events_in_per_s; rout += r.events_out_per_s; list += r.list_length; processing += r.processing_length ?? 0;
        // An idle receiver repeats its last quantiles: only one storing now has current ones.
        if (r.events_out_per_s <= 0) continue;
        if (r.batch_size && (!batch || r.batch_size.max > batch.max)) batch = r.batch_size;
        if (r.lag_ms && (!lag || r.lag_ms.p99 > lag.p99)) lag = r.lag_ms;
      }
      push(hist.in, any ? rin : undefined); push(hist.out, any ? rout : undefined);
      push(hist.here, q.delivered?.count ?? 0);
      push(hist.list, any ? list : undefined); push(hist.processing, any ? processing : undefined);
      push(hist.bP50, batch?.p50); push(hist.bP99, batch?.p99); push(hist.bMax, batch?.max);
      push(hist.rP50, lag?.p50); push(hist.rP99, lag?.p99); push(hist.rMax, lag?.max);
      const s = prom.current?.samples ?? [];
      const web = [...webNodes.current.values()].filter((w) => now - w.at < RECEIVER_STALE_MS);
      if (web.length) {
        // Every node's own figures from the metrics group; /api/v2/metrics/ reaches only the node serving this page.
        push(hist.depth, web.reduce((n, w) => n + (w.queue_depth?.total ?? 0), 0));
        push(hist.largest, Math.max(...web.map((w) => w.queue_depth?.largest_client ?? 0)));
        push(hist.overflow, web.reduce((n, w) => n + (w.overflow?.per_s ?? 0), 0));
      } else {
        push(hist.depth, sum(s, /^ws_queue_depth$/, (l) => l.which === 'total'));
        push(hist.largest, sum(s, /^ws_queue_depth$/, (l) => l.which === 'largest_client'));
        push(hist.overflow, overflowRate());
      }
      push(hist.dead, sum(s, /dead_lettered_total$|dead_letters?_total$/));
      setTick((t) => t + 1);
    }, 1000);
    return () => { sub.close(); off(); polling = false; clearInterval(timer); for (const t of finishing.current.values()) clearTimeout(t); };
  }, []);

  function overflowRate(): number | undefined {
    const a = promPrev.current;
    const b = prom.current;
    if (!a || !b) return undefined;
    const now = sum(b.samples, /^ws_group_overflow_total$/) ?? 0;
    const before = sum(a.samples, /^ws_group_overflow_total$/) ?? 0;
    return Math.max(0, (now - before) / Math.max(0.001, (b.at - a.at) / 1000));
  }

  useEffect(() => { meter.reset(); }, [selected]);

  const d = meter.window.delivered;
  const st = meter.window.stored;
  const samples = prom.current?.samples ?? [];
  const byGroup = new Map<string, { depth: number; overflow: number }>();
  const row = (g: string) => { let r = byGroup.get(g); if (!r) byGroup.set(g, r = { depth: 0, overflow: 0 }); return r; };
  const web = [...webNodes.current.values()].filter((w) => Date.now() - w.at < RECEIVER_STALE_MS);
  if (web.length) {
    for (const w of web) {
      for (const [g, v] of Object.entries(w.queue_depth?.by_group ?? {})) row(g).depth += v;
      for (const [g, v] of Object.entries(w.overflow?.by_group ?? {})) row(g).overflow += v;
    }
  } else {
    for (const x of samples) {
      if (x.name === 'ws_group_queue_depth' && x.labels.group) row(x.labels.group).depth += x.value;
      if (x.name === 'ws_group_overflow_total' && x.labels.group) row(x.labels.group).overflow += x.value;
    }
  }
  const groupRows = [...byGroup].sort((a, b) => b[1].depth + b[1].overflow - a[1].depth - a[1].overflow).slice(0, 20);
  // Tiles read only the window's points: none there is "—".
  const recent = (a: Series) => a.slice(-WINDOW_S).filter((v): v is number => v !== undefined);
  const lastOf = (a: Series) => recent(a).pop();
  const worst = (a: Series) => { const r = recent(a); return r.length ? Math.max(...r) : undefined; };
  const mean = (a: Series) => { const r = recent(a); return r.length ? r.reduce((x, y) => x + y, 0) / r.length : undefined; };
  const jobLabel = (id: number) => `${names.current.get(id) || 'job'} (#${id})`;
  const scope = selected ? jobLabel(selected) : 'all running jobs';
  const win = `last ${WINDOW_S} s`;
  const ms = (v: number) => formatMs(v);
  const n = (v: number) => formatCount(v);
  const delivered = meter.delivered;
  const stored = meter.stored;
  return (
    <div class="lag">
      <div class="page-head">
        <h1>Lag dashboard</h1>
        <span class="spacer" />
        <label class="inline">Job
          <select value={selected === undefined ? '' : String(selected)} onChange={(e) => {
            const v = (e.currentTarget as HTMLSelectElement).value;
            setSelected(v ? Number(v) : undefined);
          }}>
            <option value="">all running jobs</option>
            {[...tracked.current.keys(), ...(selected && !tracked.current.has(selected) ? [selected] : [])].map((id) => <option value={id}>{jobLabel(id)}</option>)}
          </select>
        </label>
        <form class="inline" onSubmit={(e) => {
          e.preventDefault();
          const v = Number(new FormData(e.currentTarget as HTMLFormElement).get('job'));
          if (v > 0 && !names.current.has(v)) {
            names.current.set(v, '');
            void get<Page<ApiObject>>(`/api/v2/unified_jobs/?id=${v}`).then((p) => { if (p.results[0]?.name) { names.current.set(v, p.results[0].name); setTick((t) => t + 1); } }).catch(() => undefined);
          }
          if (v > 0) setSelected(v);
        }}>
          <input name="job" type="number" min={1} placeholder="job id" class="narrow" />
          <button type="submit" class="btn-small">Watch</button>
        </form>
      </div>
      <div class="tiles">
        <Tile label="delivered − created p50" scope={`${win} · ${scope} · to this browser`} value={formatMs(d?.p50)} testId="delivered-p50" />
        <Tile label="delivered − created p99" scope={`${win} · ${scope} · to this browser`} value={formatMs(d?.p99)} testId="delivered-p99" />
        {selected || worst(hist.rP99) === undefined
          ? <Tile label="modified − created p99" scope={`${win} · ${scope} · events seen here`} value={formatMs(st?.p99)} testId="stored-p99" />
          : <Tile label="modified − created p99" scope={`${win} · worst second · receivers while storing`} value={formatMs(worst(hist.rP99))} testId="stored-p99" />}
        <Tile label="events/s in" scope={`mean of ${win} · all receivers`} value={formatCount(mean(hist.in))} testId="events-in" />
        <Tile label="events/s stored" scope={`mean of ${win} · all receivers`} value={formatCount(mean(hist.out))} testId="events-out" />
        <Tile label="events received here" scope={`since ${selected ? 'selected' : 'opened'} · ${scope}`} value={meter.total.toLocaleString()} testId="events-here" />
        <Tile label="waiting in Redis" scope={`latest within ${win} · all receivers`} value={formatCount(backlog(lastOf(hist.list), lastOf(hist.processing)))} testId="list-length" />
        <Tile label="dead letters" scope={`total, latest within ${win} · this node's /metrics`} value={formatCount(lastOf(hist.dead))} testId="dead-letters" />
      </div>
      <div class="charts">
        <Chart title={selected ? `Job ${selected}: runner → database (modified − created)` : 'Runner → database (modified − created, receiver)'} format={ms} testId="chart-stored"
          series={selected ? [
            { label: 'p50', color: '#3e8635', data: stored.map((x) => x?.p50) },
            { label: 'p99', color: '#f0ab00', data: stored.map((x) => x?.p99) },
            { label: 'max', color: '#c9190b', data: stored.map((x) => x?.max) },
          ] : [
            { label: 'p50', color: '#3e8635', data: hist.rP50 },
            { label: 'p99', color: '#f0ab00', data: hist.rP99 },
            { label: 'max', color: '#c9190b', data: hist.rMax },
          ]} />
        <Chart title={`${selected ? `Job ${selected}: r` : 'R'}unner → this browser (delivered − created)`} format={ms} testId="chart-delivered" series={[
          { label: 'p50', color: '#3e8635', data: delivered.map((x) => x?.p50) },
          { label: 'p99', color: '#f0ab00', data: delivered.map((x) => x?.p99) },
          { label: 'max', color: '#c9190b', data: delivered.map((x) => x?.max) },
        ]} />
        <Chart title="Events per second" format={n} testId="chart-rate" series={[
          { label: 'in (popped)', color: '#0066cc', data: hist.in },
          { label: 'out (stored)', color: '#3e8635', data: hist.out },
          { label: 'delivered here', color: '#8476d1', data: hist.here },
        ]} />
        <Chart title="Redis intake list" format={n} series={[
          { label: 'list length', color: '#0066cc', data: hist.list },
          { label: 'claimed, not yet stored', color: '#f0ab00', data: hist.processing },
        ]} />
        <Chart title="Batch size (events per COPY)" format={n} series={[
          { label: 'p50', color: '#3e8635', data: hist.bP50 },
          { label: 'p99', color: '#f0ab00', data: hist.bP99 },
          { label: 'max', color: '#c9190b', data: hist.bMax },
        ]} />
        <Chart title="Websocket queues" format={n} testId="chart-ws" series={[
          { label: 'queued (node total)', color: '#0066cc', data: hist.depth },
          { label: 'largest client', color: '#f0ab00', data: hist.largest },
          { label: 'overflow/s', color: '#c9190b', data: hist.overflow },
        ]} />
        <Chart title="Dead-lettered events (total)" format={n} series={[{ label: 'dead letters', color: '#c9190b', data: hist.dead }]} />
        <div class="card" data-testid="ws-groups">
          <div class="chart-title">Websocket groups: queued now and overflowed (total)</div>
          {groupRows.length === 0 ? <p class="muted">No group has messages queued or overflowed.</p> : (
            <table class="table compact">
              <thead><tr><th>group</th><th>queued</th><th>overflowed</th></tr></thead>
              <tbody>{groupRows.map(([g, r]) => <tr key={g}><td>{g}</td><td>{r.depth.toLocaleString()}</td><td>{r.overflow.toLocaleString()}</td></tr>)}</tbody>
            </table>
          )}
        </div>
      </div>
    </div>
  );
}

function Tile(props: { label: string; scope: string; value: string; testId: string }) {
  return (
    <div class="tile card" data-testid={props.testId}>
      <div class="tile-value">{props.value}</div><div class="tile-label">{props.label}</div><div class="tile-scope muted">{props.scope}</div>
    </div>
  );
}

/** Events not yet stored: the intake list plus what receivers have claimed from it (a claim empties the list at once). */
function backlog(list: number | undefined, claimed: number | undefined): number | undefined {
  return list === undefined && claimed === undefined ? undefined : (list ?? 0) + (claimed ?? 0);
}
