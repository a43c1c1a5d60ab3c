/**
 * Workflow graph semantics, AWX's (awx/main/scheduler/dag_workflow.py), as pure functions
 * over one workflow job's nodes: no database, no clock. The workflow pass (advance.ts) loads
 * the nodes, calls decideWorkflow and writes what it returns.
 *
 * A node is in one of these states, and only moves rightwards:
 *
 *   undecided ──► do_not_run                     (no parent outcome can reach it any more)
 *       │
 *       └──────► has a job ──► job final          (successful | failed | error | canceled)
 *
 * A node without a unified job template (its template was deleted) never gets a job: it
 * counts as a failed node, so its failure and always children run, and it fails the
 * workflow unless one of those edges handles it.
 *
 * Rules, each as AWX decides it:
 * - Reaching a child: a successful job follows success and always edges; failed, error and
 *   canceled jobs follow failure and always edges.
 * - "Any" convergence (the default): a node starts once every parent that may still run
 *   has a final job, and at least one reached it (else it is marked do_not_run).
 * - "All" convergence (all_parents_must_converge): a node starts once every parent has
 *   finished and every finished parent reached it; a do_not_run parent, or a finished
 *   parent whose outcome does not match its edge, marks the node do_not_run at once. As
 *   AWX, only successful and failed parents are matched against the edge type: an error
 *   or canceled parent does not block the node.
 * - Done: every node is do_not_run, template-less, or has a final job.
 * - Failed: some failed node (a failed/error/canceled job, or a template-less node that
 *   is not do_not_run) has no failure and no always edge out of it.
 * - Cancel: nodes without a job become do_not_run, active jobs are canceled, and the
 *   workflow is canceled once none is active.
 */
export type EdgeKind = 'success' | 'failure' | 'always';

export const FINAL_JOB_STATUSES: readonly string[] = ['successful', 'failed', 'error', 'canceled'];
const FAILED_JOB_STATUSES: readonly string[] = ['failed', 'error', 'canceled'];

export interface GraphNode {
  id: number;
  /** False when the node's unified job template is gone (AWX: unified_job_template is None). */
  hasTemplate: boolean;
  allParentsMustConverge: boolean;
  doNotRun: boolean;
  /** The node's job: its id and status; null while the node has none. */
  job: { id: number; status: string } | null;
}

export interface GraphEdge { from: number; to: number; kind: EdgeKind }

export interface WorkflowDecision {
  /** Nodes to start now (each gets a job). */
  start: number[];
  /** Nodes newly marked do_not_run. */
  doNotRun: number[];
  /** Jobs to cancel (the workflow's cancel was requested). */
  cancelJobs: number[];
  /** Set when the workflow job is finished. */
  finished: { status: 'successful' | 'failed' | 'canceled'; explanation: string } | null;
}

/** AWX's job_explanation on a workflow that failed for want of an error path. */
export const NO_ERROR_PATH_EXPLANATION = 'No error handling paths found, marking workflow as failed';

export class WorkflowGraph {
  readonly #nodes = new Map<number, GraphNode>();
  readonly #children = new Map<number, Record<EdgeKind, number[]>>();
  readonly #parents = new Map<number, { id: number; kind: EdgeKind }[]>();

  constructor(nodes: GraphNode[], edges: GraphEdge[]) {
    for (const n of nodes) {
      // Copies: marking do_not_run must not write through to the caller's objects.
      this.#nodes.set(n.id, { ...n });
      this.#children.set(n.id, { success: [], failure: [], always: [] });
      this.#parents.set(n.id, []);
    }
    for (const e of edges) {
      if (!this.#nodes.has(e.from) || !this.#nodes.has(e.to)) continue;
      this.#children.get(e.from)![e.kind].push(e.to);
      this.#parents.get(e.to)!.push({ id: e.from, kind: e.kind });
    }
  }

  node(id: number): GraphNode { return this.#nodes.get(id)!; }

  get nodes(): GraphNode[] { return [...this.#nodes.values()]; }

  roots(): GraphNode[] { return this.nodes.filter((n) => this.#parents.get(n.id)!.length === 0); }

  children(id: number, ...kinds: EdgeKind[]): number[] {
    const c = this.#children.get(id)!;
    return kinds.flatMap((k) => c[k]);
  }

  parents(id: number): GraphNode[] {
    return [...new Set(this.#parents.get(id)!.map((p) => p.id))].map((p) => this.node(p));
  }

  /** Whether `parent` reaches `child` through an edge of one of `kinds`. */
  #reaches(parent: number, child: number, kinds: EdgeKind[]): boolean {
    return this.children(parent, ...kinds).includes(child);
  }

  /** The edge kinds a node's outcome follows; null while it has none yet. */
  #outcomeEdges(n: GraphNode): EdgeKind[] | null {
    if (n.doNotRun) return null;
    if (n.job) {
      if (n.job.status === 'successful') return ['success', 'always'];
      if (FAILED_JOB_STATUSES.includes(n.job.status)) return ['failure', 'always'];
      return null;
    }
    if (!n.hasTemplate) return ['failure', 'always'];
    return null;
  }

  /** Every parent that could still run has a final job (do_not_run and template-less parents never will). */
  #relevantParentsFinished(id: number): boolean {
    return this.parents(id).every((p) => p.doNotRun || !p.hasTemplate || (p.job !== null && FINAL_JOB_STATUSES.includes(p.job.status)));
  }

  /** Every parent that finished successful or failed reached `id` through a matching edge (or an always edge). */
  #convergenceMet(id: number): boolean {
    return this.parents(id).every((p) => {
      if (!p.job || !['successful', 'failed'].includes(p.job.status)) return true;
      return this.#reaches(p.id, id, [p.job.status === 'successful' ? 'success' : 'failure', 'always']);
    });
  }

  /** AWX's bfs_nodes_to_run: from the roots along the edges outcomes follow, the nodes ready to start. */
  nodesToRun(): number[] {
    const queue = this.roots().map((n) => n.id);
    const visited = new Set<number>();
    const found: number[] = [];
    for (let i = 0; i < queue.length; i++) {
      const n = this.node(queue[i]);
      if (visited.has(n.id)) continue;
      visited.add(n.id);
      if (n.doNotRun) continue;
      const follow = this.#outcomeEdges(n);
      if (follow) { queue.push(...this.children(n.id, ...follow)); continue; }
      if (n.job) continue;
      if (!this.#relevantParentsFinished(n.id)) continue;
      if (n.allParentsMustConverge && !this.#convergenceMet(n.id)) continue;
      found.push(n.id);
    }
    return found;
  }

  /** AWX's mark_dnr_nodes: in topological order, the undecided nodes no parent outcome can reach any more. */
  markDoNotRun(): number[] {
    const marked: number[] = [];
    for (const n of this.#topological()) {
      const parents = this.parents(n.id);
      if (n.doNotRun || n.job || parents.length === 0) continue;
      let mark: boolean;
      if (n.allParentsMustConverge) {
        mark = parents.some((p) => p.doNotRun) || !this.#convergenceMet(n.id);
      } else {
        // Decided only once no parent may still get a job; then do_not_run unless one reached it.
        const decided = parents.every((p) => p.doNotRun || p.job !== null || !p.hasTemplate);
        mark = decided && this.#noParentReaches(n.id, parents);
      }
      if (mark) {
        n.doNotRun = true;
        marked.push(n.id);
      }
    }
    return marked;
  }

  #noParentReaches(id: number, parents: GraphNode[]): boolean {
    for (const p of parents) {
      if (p.doNotRun) continue;
      const follow = this.#outcomeEdges(p);
      // A parent with an unfinished job may still reach it.
      if (!follow) return false;
      if (this.#reaches(p.id, id, follow)) return false;
    }
    return true;
  }

  /** Parents before children; a node reachable from several parents comes after all of them. */
  #topological(): GraphNode[] {
    const out: GraphNode[] = [];
    const done = new Set<number>();
    const visit = (id: number, path: Set<number>) => {
      if (done.has(id) || path.has(id)) return;
      path.add(id);
      for (const c of this.children(id, 'success', 'failure', 'always')) visit(c, path);
      path.delete(id);
      done.add(id);
      out.push(this.node(id));
    };
    for (const id of this.#nodes.keys()) visit(id, new Set());
    return out.reverse();
  }

  /** AWX's is_workflow_done. */
  isDone(): boolean {
    return this.nodes.every((n) => {
      if (n.job) return FINAL_JOB_STATUSES.includes(n.job.status);
      return n.doNotRun || !n.hasTemplate;
    });
  }

  /** AWX's has_workflow_failed: the failed nodes no failure or always edge handles. */
  unhandledFailures(): { id: number; status: string | null }[] {
    const out: { id: number; status: string | null }[] = [];
    for (const n of this.nodes) {
      const failedJob = n.job !== null && FAILED_JOB_STATUSES.includes(n.job.status);
      // As AWX: a node whose template is gone counts as failed even if it got a job before the deletion.
      const missingTemplate = !n.doNotRun && !n.hasTemplate;
      if (!failedJob && !missingTemplate) continue;
      if (this.children(n.id, 'failure', 'always').length) continue;
      out.push({ id: n.id, status: n.job?.status ?? null });
    }
    return out;
  }

  /** AWX's has_cycle, for edges being added: a graph with nodes but no root is a cycle too. */
  hasCycle(): boolean {
    if (this.#nodes.size && !this.roots().length) return true;
    const state = new Map<number, 1 | 2>();
    const visit = (id: number): boolean => {
      state.set(id, 1);
      for (const c of this.children(id, 'success', 'failure', 'always')) {
        const s = state.get(c);
        if (s === 1) return true;
        if (s === undefined && visit(c)) return true;
      }
      state.set(id, 2);
      return false;
    };
    for (const id of this.#nodes.keys()) if (!state.has(id) && visit(id)) return true;
    return false;
  }
}

/**
 * One workflow pass over one running workflow job (AWX's spawn_workflow_graph_jobs, minus
 * the writes): what to mark, start and cancel, and whether the workflow is finished.
 */
export function decideWorkflow(nodes: GraphNode[], edges: GraphEdge[], opts: { cancelRequested?: boolean } = {}): WorkflowDecision {
  const graph = new WorkflowGraph(nodes, edges);
  if (opts.cancelRequested) {
    const doNotRun = graph.nodes.filter((n) => !n.doNotRun && !n.job).map((n) => n.id);
    const cancelJobs = graph.nodes.filter((n) => n.job && !FINAL_JOB_STATUSES.includes(n.job.status)).map((n) => n.job!.id);
    return { start: [], doNotRun, cancelJobs,
      finished: cancelJobs.length ? null : { status: 'canceled', explanation: '' } };
  }
  const doNotRun = graph.markDoNotRun();
  if (graph.isDone()) {
    const failures = graph.unhandledFailures();
    return { start: [], doNotRun, cancelJobs: [],
      finished: failures.length ? { status: 'failed', explanation: NO_ERROR_PATH_EXPLANATION } : { status: 'successful', explanation: '' } };
  }
  const start = graph.nodesToRun().filter((id) => graph.node(id).hasTemplate);
  return { start, doNotRun, cancelJobs: [], finished: null };
}

/**
 * AWX refuses to start a workflow node whose workflow job template is already one of the
 * workflows above it (its own, its parent's, ...): the node's job fails with this text.
 * `ancestors` are names of the templates from the nearest workflow outwards.
 */
export function recursionExplanation(templateId: number, templateName: string,
  ancestors: { id: number; name: string }[]): string | null {
  if (!ancestors.some((a) => a.id === templateId)) return null;
  const chain = [templateName, ...ancestors.map((a) => a.name)].map((n) => `<${n}>`).join(', ');
  return `Workflow Job spawned from workflow could not start because it would result in recursion (spawn order, most recent first: ${chain})`;
}
