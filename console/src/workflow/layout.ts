/**
 * A workflow graph laid out in layers, left to right: a node's column is the length of the
 * longest path from a root to it (the graph is acyclic: the API refuses a cycle), so every
 * edge points rightwards. Within a column nodes are ordered by the mean row of their
 * parents (one barycentre pass, enough to keep a chain of success/failure paths straight),
 * then by id, so the picture is stable while statuses change.
 */
export type EdgeKind = 'success' | 'failure' | 'always';
export const EDGE_KINDS: EdgeKind[] = ['success', 'failure', 'always'];

export interface GraphNode { id: number; success_nodes?: number[]; failure_nodes?: number[]; always_nodes?: number[] }
export interface Edge { from: number; to: number; kind: EdgeKind }
export interface Placed { id: number; column: number; row: number; x: number; y: number }
export interface Layout { nodes: Map<number, Placed>; edges: Edge[]; width: number; height: number }

export const NODE_W = 180;
export const NODE_H = 56;
const GAP_X = 70;
const GAP_Y = 24;
const PAD = 16;

export function edgesOf(nodes: GraphNode[]): Edge[] {
  const ids = new Set(nodes.map((n) => n.id));
  const out: Edge[] = [];
  for (const n of nodes) {
    for (const kind of EDGE_KINDS) {
      for (const to of n[`${kind}_nodes`] ?? []) if (ids.has(to)) out.push({ from: n.id, to, kind });
    }
  }
  return out;
}

export function layoutGraph(nodes: GraphNode[]): Layout {
  const edges = edgesOf(nodes);
  const parents = new Map<number, number[]>(nodes.map((n) => [n.id, []]));
  const children = new Map<number, number[]>(nodes.map((n) => [n.id, []]));
  for (const e of edges) { parents.get(e.to)!.push(e.from); children.get(e.from)!.push(e.to); }

  // Longest path from a root, by Kahn's order (a node left over would mean a cycle: it goes last).
  const column = new Map<number, number>();
  const indegree = new Map<number, number>([...parents].map(([id, p]) => [id, new Set(p).size]));
  const queue = nodes.filter((n) => indegree.get(n.id) === 0).map((n) => n.id).sort((a, b) => a - b);
  for (const id of queue) column.set(id, 0);
  while (queue.length) {
    const id = queue.shift()!;
    for (const c of new Set(children.get(id))) {
      column.set(c, Math.max(column.get(c) ?? 0, column.get(id)! + 1));
      indegree.set(c, indegree.get(c)! - 1);
      if (indegree.get(c) === 0) queue.push(c);
    }
  }
  const maxCol = Math.max(0, ...column.values());
  for (const n of nodes) if (!column.has(n.id)) column.set(n.id, maxCol + 1);

  const byColumn = new Map<number, number[]>();
  for (const n of [...nodes].sort((a, b) => a.id - b.id)) {
    const c = column.get(n.id)!;
    if (!byColumn.has(c)) byColumn.set(c, []);
    byColumn.get(c)!.push(n.id);
  }
  const row = new Map<number, number>();
  for (const c of [...byColumn.keys()].sort((a, b) => a - b)) {
    const ids = byColumn.get(c)!;
    const weight = (id: number) => {
      const p = parents.get(id)!.filter((x) => row.has(x));
      return p.length ? p.reduce((s, x) => s + row.get(x)!, 0) / p.length : Number.MAX_SAFE_INTEGER;
    };
    ids.sort((a, b) => weight(a) - weight(b) || a - b);
    ids.forEach((id, i) => row.set(id, i));
  }

  const placed = new Map<number, Placed>();
  let width = 0;
  let height = 0;
  for (const n of nodes) {
    const c = column.get(n.id)!;
    const r = row.get(n.id)!;
    const x = PAD + c * (NODE_W + GAP_X);
    const y = PAD + r * (NODE_H + GAP_Y);
    placed.set(n.id, { id: n.id, column: c, row: r, x, y });
    width = Math.max(width, x + NODE_W + PAD);
    height = Math.max(height, y + NODE_H + PAD);
  }
  return { nodes: placed, edges, width, height };
}
