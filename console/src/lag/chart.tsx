import { useEffect, useRef } from 'preact/hooks';

/**
 * A small canvas line chart (no library: uPlot would add ~45 KB to a bundle whose budget
 * is 150 KB, for six charts that only ever draw a few hundred points). Points are one a
 * second, newest on the right; gaps (undefined) break the line.
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
    const plotH = height - 16;
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
    <div class="chart card" data-testid={props.testId}>
      <div class="chart-head">
        <span class="chart-title">{props.title}</span>
        {props.series.map((s) => {
          const last = [...s.data].reverse().find((v) => v !== undefined);
          return <span key={s.label} class="legend"><i style={{ background: s.color }} />{s.label} <b>{last === undefined ? '—' : props.format(last)}</b></span>;
        })}
      </div>
      <canvas ref={canvas} style={{ width: '100%', height: `${height}px` }} />
    </div>
  );
}

function niceCeil(v: number): number {
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}
