import type { ComponentChildren } from 'preact';
import { type GraphNode, layoutGraph, NODE_H, NODE_W } from './layout.js';

/**
 * The graph drawn: edges as SVG curves (green success, red failure, blue always, AWX's
 * colours) under absolutely positioned node boxes. The caller says what a node shows and
 * what a click does; each box carries data-node-id and data-status for tests and styles.
 */
export interface ViewNode extends GraphNode { status?: string; title: string; subtitle?: ComponentChildren; identifier?: string }

const EDGE_COLOUR = { success: '#3e8635', failure: '#c9190b', always: '#0066cc' };

export function GraphView(props: { nodes: ViewNode[]; selected?: number; onNodeClick?: (n: ViewNode) => void; testid?: string }) {
  const layout = layoutGraph(props.nodes);
  return (
    <div class="wf-graph" data-testid={props.testid ?? 'wf-graph'} style={{ width: `${layout.width}px`, height: `${layout.height}px` }}>
      <svg class="wf-edges" width={layout.width} height={layout.height}>
        {layout.edges.map((e) => {
          const a = layout.nodes.get(e.from)!;
          const b = layout.nodes.get(e.to)!;
          const x1 = a.x + NODE_W;
          const y1 = a.y + NODE_H / 2;
          const x2 = b.x;
          const y2 = b.y + NODE_H / 2;
          const mid = (x1 + x2) / 2;
          return (
            <path key={`${e.from}-${e.kind}-${e.to}`} d={`M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`} fill="none"
              stroke={EDGE_COLOUR[e.kind]} stroke-width="2" marker-end={`url(#wf-arrow-${e.kind})`}
              data-edge={`${e.from}-${e.kind}-${e.to}`} />
          );
        })}
        <defs>
          {Object.entries(EDGE_COLOUR).map(([kind, colour]) => (
            <marker key={kind} id={`wf-arrow-${kind}`} viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto">
              <path d="M0,0 L10,5 L0,10 z" fill={colour} />
            </marker>
          ))}
        </defs>
      </svg>
      {props.nodes.map((n) => {
        const p = layout.nodes.get(n.id)!;
        const status = n.status ?? 'none';
        return (
          <div key={n.id} class={`wf-node wf-node-${status}${props.selected === n.id ? ' selected' : ''}`} data-node-id={n.id}
            data-identifier={n.identifier} data-status={status} title={n.identifier}
            style={{ left: `${p.x}px`, top: `${p.y}px`, width: `${NODE_W}px`, height: `${NODE_H}px` }}
            onClick={() => props.onNodeClick?.(n)}>
            <div class="wf-node-title">{n.title}</div>
            <div class="wf-node-sub">{n.subtitle}</div>
          </div>
        );
      })}
    </div>
  );
}

/** The legend under a graph. */
export function EdgeLegend() {
  return (
    <div class="wf-legend">
      {Object.entries(EDGE_COLOUR).map(([kind, colour]) => (
        <span key={kind}><span class="wf-swatch" style={{ background: colour }} /> on {kind}</span>
      ))}
    </div>
  );
}
