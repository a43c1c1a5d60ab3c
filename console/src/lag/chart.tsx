import { useEffect, useRef } from 'preact/hooks';
import { WINDOW_S } from './lag-meter.js';

/**
 * A small canvas line chart (no library: uPlot would add ~45 KB to a bundle whose budget
 * is 150 KB, for six charts that only ever draw a few hundred points). Points are one a
 * second, newest on the right (now); gaps (undefined) break the line. The time axis under
 * the plot marks clock times (every 15 s up to a minute shown, else every minute), and the
 * legend's figure is the latest point within the dashboard's window, "—" past it.
 */
export interface Series { label: string; color: string; data: (number | undefined)[] }

export function Chart(props: { title: string; series: Series[]; format: (v: number) => string; height?: number; testId?: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const height = props.height ?? 160;
  useEffect(() => {
    const c = canvas.current;
    if (!c) return;
    const dpr = window.devicePixelRatio || 1;
    const w = c.clientWidth || 400;
    c.width = w * dpr;
    c.height = height * dpr;
    const g = c.getContext('2d');
    if (!g) return;
    g.scale(dpr, dpr);
    g.clearRect(0, 0, w, height);
    const left = 56;
    const plotW = w - left - 8;
    const plotH = height - 30;
    let top = 0;
    let n = 0;
    for (const s of props.series) {
      n = Math.max(n, s.data.length);
      for (const v of s.data) if (v !== undefined && v > top) top = v;
    }
    top = niceCeil(top || 1);
    g.font = '11px system-ui, sans-serif';
    g.fillStyle = '#6a6e73';
    g.strokeStyle = '#e4e6e9';
    g.lineWidth = 1;
    for (let i = 0; i <= 4; i++) {
      const y = 8 + (plotH * i) / 4;
      g.beginPath(); g.moveTo(left, y); g.lineTo(left + plotW, y); g.stroke();
      g.fillText(props.format(top * (1 - i / 4)), 2, y + 4);
    }
    const slots = Math.max(n, 60);
    // Time axis: point i of a series of length L is (L - 1 - i) seconds old; x of "k s ago".
    const xAgo = (k: number) => left + plotW * ((slots - 1 - k) / Math.max(1, slots - 1));
    const step = slots <= 60 ? 15 : slots <= 180 ? 30 : 60;
    const now = Date.now();
    g.fillStyle = '#6a6e73';
    g.strokeStyle = '#b8bbbe';
    const baseY = 8 + plotH;
    g.beginPath(); g.moveTo(left, baseY); g.lineTo(left + plotW, baseY); g.stroke();
    // Ticks on whole clock steps, so labels read 12:04:15, 12:04:30 rather than drifting.
    const firstAgo = Math.floor(now / 1000) % step;
    for (let k = firstAgo; k <= slots - 1; k += step) {
      const x = xAgo(k);
      g.beginPath(); g.moveTo(x, baseY); g.lineTo(x, baseY + 4); g.stroke();
      const label = new Date(now - k * 1000).toTimeString().slice(0, 8);
      const tw = g.measureText(label).width;
      if (x - tw / 2 >= left && x + tw / 2 <= left + plotW + 8) g.fillText(label, x - tw / 2, baseY + 16);
    }
    for (const s of props.series) {
      g.strokeStyle = s.color;
      g.lineWidth = 1.5;
      g.beginPath();
      let pen = false;
      g.fillStyle = s.color;
      s.data.forEach((v, i) => {
        if (v === undefined) { pen = false; return; }
        const x = left + plotW * ((i + slots - s.data.length) / Math.max(1, slots - 1));
        const y = 8 + plotH * (1 - v / top);
        if (pen) g.lineTo(x, y); else g.moveTo(x, y);
        // A second with data between two without (a short job) would be an invisible line: mark it.
        if (!pen && s.data[i + 1] === undefined) g.fillRect(x - 2, y - 2, 4, 4);
        pen = true;
      });
      g.stroke();
    }
  });
  return (
    <div class="chart card" data-testid={props.testId} data-x-axis="time">
      <div class="chart-head">
        <span class="chart-title">{props.title}</span>
        {props.series.map((s) => {
          const last = s.data.slice(-WINDOW_S).reverse().find((v) => v !== undefined);
          return <span key={s.label} class="legend"><i style={{ background: s.color }} />{s.label} <b>{last === undefined ? '—' : props.format(last)}</b></span>;
        })}
        <span class="legend chart-scope">latest in last {WINDOW_S} s</span>
      </div>
      <canvas ref={canvas} style={{ width: '100%', height: `${height}px` }} role="img"
        aria-label={`${props.title}: one point a second, the last ${Math.max(60, ...props.series.map((x) => x.data.length))} seconds up to now`} />
    </div>
  );
}

function niceCeil(v: number): number {
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}
