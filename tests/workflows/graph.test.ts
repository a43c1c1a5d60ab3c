import { describe, expect, test } from 'vitest';
import {
  decideWorkflow, NO_ERROR_PATH_EXPLANATION, recursionExplanation, WorkflowGraph, type EdgeKind, type GraphEdge, type GraphNode,
} from '../../src/scheduler/workflow/graph.js';

/**
 * The workflow graph semantics (src/scheduler/workflow/graph.ts) against the outcomes
 * AWX's dag_workflow.py gives for the same graphs: one row per graph state, what one pass
 * starts, marks do_not_run, cancels, and how the workflow ends. Pure: no database.
 *
 * Nodes are letters; a node's job (when it has one) is its id + 100. `s`, `f`, `a` are
 * success, failure and always edges.
 */
interface NodeSpec { status?: string; dnr?: boolean; noTemplate?: boolean; all?: boolean }
interface Case {
  name: string;
  nodes: Record<string, NodeSpec>;
  edges?: string[];
  cancel?: boolean;
  start?: string[];
  dnr?: string[];
  cancelJobs?: string[];
  finished?: 'successful' | 'failed' | 'canceled' | null;
}

const KIND: Record<string, EdgeKind> = { s: 'success', f: 'failure', a: 'always' };

function build(c: Case): { nodes: GraphNode[]; edges: GraphEdge[]; id: (n: string) => number; name: (id: number) => string } {
  const names = Object.keys(c.nodes);
  const id = (n: string) => names.indexOf(n) + 1;
  const name = (i: number) => names[i - 1];
  const nodes = names.map((n) => ({ id: id(n), hasTemplate: !c.nodes[n].noTemplate, allParentsMustConverge: !!c.nodes[n].all,
    doNotRun: !!c.nodes[n].dnr, job: c.nodes[n].status ? { id: id(n) + 100, status: c.nodes[n].status! } : null }));
  const edges = (c.edges ?? []).map((e) => {
    const [from, kind, to] = e.split(' ');
    return { from: id(from), to: id(to), kind: KIND[kind] };
  });
  return { nodes, edges, id, name };
}

const CASES: Case[] = [
  { name: 'a root node without a job starts', nodes: { A: {} }, start: ['A'], finished: null },
  { name: 'a running root blocks its children', nodes: { A: { status: 'running' }, B: {} }, edges: ['A s B'], start: [], dnr: [], finished: null },
  { name: 'success follows the success edge; the failure child is do_not_run',
    nodes: { A: { status: 'successful' }, B: {}, C: {} }, edges: ['A s B', 'A f C'], start: ['B'], dnr: ['C'] },
  { name: 'failure follows the failure edge; the success child is do_not_run',
    nodes: { A: { status: 'failed' }, B: {}, C: {} }, edges: ['A s B', 'A f C'], start: ['C'], dnr: ['B'] },
  { name: 'an always edge follows a failure', nodes: { A: { status: 'failed' }, B: {} }, edges: ['A a B'], start: ['B'], dnr: [] },
  { name: 'an always edge follows a success', nodes: { A: { status: 'successful' }, B: {} }, edges: ['A a B'], start: ['B'], dnr: [] },
  { name: 'error is a failure outcome', nodes: { A: { status: 'error' }, B: {}, C: {} }, edges: ['A s B', 'A f C'], start: ['C'], dnr: ['B'] },
  { name: 'canceled is a failure outcome', nodes: { A: { status: 'canceled' }, B: {}, C: {} }, edges: ['A s B', 'A f C'], start: ['C'], dnr: ['B'] },
  { name: 'a failed node without a failure path fails the workflow',
    nodes: { A: { status: 'failed' }, B: {} }, edges: ['A s B'], dnr: ['B'], finished: 'failed' },
  { name: 'a failed node whose failure path ran leaves the workflow successful',
    nodes: { A: { status: 'failed' }, B: { dnr: true }, C: { status: 'successful' } }, edges: ['A s B', 'A f C'], finished: 'successful' },
  { name: 'a failed node handled by an always edge leaves the workflow successful',
    nodes: { A: { status: 'failed' }, B: { status: 'successful' } }, edges: ['A a B'], finished: 'successful' },
  { name: 'a failed failure-path job fails the workflow',
    nodes: { A: { status: 'failed' }, C: { status: 'failed' } }, edges: ['A f C'], finished: 'failed' },
  { name: 'one unhandled failure among successful branches fails the workflow',
    nodes: { A: { status: 'failed' }, B: { status: 'successful' } }, finished: 'failed' },
  { name: 'all nodes successful: successful', nodes: { A: { status: 'successful' }, B: { status: 'successful' } }, edges: ['A s B'], finished: 'successful' },
  { name: 'do_not_run propagates down a whole branch in one pass',
    nodes: { A: { status: 'successful' }, B: {}, C: {}, D: {} }, edges: ['A f B', 'B s C', 'C a D'], dnr: ['B', 'C', 'D'], finished: 'successful' },
  { name: 'any convergence: one matching parent is enough',
    nodes: { A: { status: 'successful' }, B: { status: 'failed' }, C: {} }, edges: ['A s C', 'B s C'], start: ['C'], dnr: [] },
  { name: 'any convergence: waits for a parent still running',
    nodes: { A: { status: 'successful' }, B: { status: 'running' }, C: {} }, edges: ['A s C', 'B s C'], start: [], dnr: [], finished: null },
  { name: 'any convergence: a do_not_run parent does not hold the node back',
    nodes: { R: { status: 'successful' }, A: { status: 'successful' }, B: {}, C: {} }, edges: ['R s A', 'R f B', 'A s C', 'B s C'],
    start: ['C'], dnr: ['B'] },
  { name: 'any convergence: no parent matched, the node is do_not_run',
    nodes: { A: { status: 'failed' }, B: { status: 'failed' }, C: {} }, edges: ['A s C', 'B s C'], dnr: ['C'], finished: 'failed' },
  { name: 'all convergence: every parent matched, the node starts',
    nodes: { A: { status: 'successful' }, B: { status: 'successful' }, C: { all: true } }, edges: ['A s C', 'B s C'], start: ['C'], dnr: [] },
  { name: 'all convergence: one parent did not match, the node is do_not_run',
    nodes: { A: { status: 'successful' }, B: { status: 'failed' }, C: { all: true } }, edges: ['A s C', 'B s C'], dnr: ['C'], finished: 'failed' },
  { name: 'all convergence: a mismatch is decided while another parent still runs',
    nodes: { A: { status: 'failed' }, B: { status: 'running' }, C: { all: true } }, edges: ['A s C', 'B s C'], start: [], dnr: ['C'], finished: null },
  { name: 'all convergence: waits for every parent',
    nodes: { A: { status: 'successful' }, B: { status: 'running' }, C: { all: true } }, edges: ['A s C', 'B s C'], start: [], dnr: [], finished: null },
  { name: 'all convergence: a do_not_run parent makes the node do_not_run',
    nodes: { R: { status: 'successful' }, A: { status: 'successful' }, B: {}, C: { all: true } }, edges: ['R s A', 'R f B', 'A s C', 'B s C'],
    dnr: ['B', 'C'], finished: 'successful' },
  { name: 'all convergence: mixed edges each matched by their parent',
    nodes: { A: { status: 'successful' }, B: { status: 'failed' }, C: { all: true } }, edges: ['A s C', 'B f C'], start: ['C'], dnr: [] },
  { name: 'all convergence (as AWX): an error parent is not matched against its edge',
    nodes: { A: { status: 'error' }, B: { status: 'successful' }, C: { all: true } }, edges: ['A s C', 'B s C'], start: ['C'], dnr: [] },
  { name: 'a diamond starts its join once',
    nodes: { A: { status: 'successful' }, B: { status: 'successful' }, C: { status: 'successful' }, D: {} },
    edges: ['A s B', 'A s C', 'B s D', 'C s D'], start: ['D'] },
  { name: 'a node without a template is a failed node: its failure child starts',
    nodes: { T: { noTemplate: true }, B: {}, C: {} }, edges: ['T s B', 'T f C'], start: ['C'], dnr: ['B'], finished: null },
  { name: 'a node without a template and no failure path fails the workflow',
    nodes: { A: { status: 'successful' }, T: { noTemplate: true } }, edges: ['A s T'], finished: 'failed' },
  { name: 'a do_not_run node without a template fails nothing',
    nodes: { A: { status: 'successful' }, T: { noTemplate: true, dnr: true } }, edges: ['A f T'], finished: 'successful' },
  { name: 'nested workflow: a failed workflow job follows its failure edge',
    nodes: { W: { status: 'failed' }, R: {}, N: {} }, edges: ['W f R', 'W s N'], start: ['R'], dnr: ['N'] },
  { name: 'nested workflow: a successful workflow job follows its success edge',
    nodes: { W: { status: 'successful' }, N: {} }, edges: ['W s N'], start: ['N'] },
  { name: 'recursion refused: the refused node failed, its failure path runs',
    nodes: { W: { status: 'failed' }, R: {} }, edges: ['W f R'], start: ['R'] },
  { name: 'recursion refused without a failure path fails the workflow', nodes: { W: { status: 'failed' } }, finished: 'failed' },
  { name: 'cancel mid-run: unstarted nodes are do_not_run, running jobs canceled, workflow still running',
    nodes: { A: { status: 'successful' }, B: { status: 'running' }, C: {}, D: { status: 'pending' } }, edges: ['A s B', 'B s C', 'A s D'],
    cancel: true, start: [], dnr: ['C'], cancelJobs: ['B', 'D'], finished: null },
  { name: 'cancel mid-run: canceled once no job is active',
    nodes: { A: { status: 'successful' }, B: { status: 'canceled' }, C: { dnr: true } }, edges: ['A s B', 'B s C'],
    cancel: true, dnr: [], cancelJobs: [], finished: 'canceled' },
  { name: 'cancel before any node started', nodes: { A: {}, B: {} }, edges: ['A s B'], cancel: true, dnr: ['A', 'B'], finished: 'canceled' },
];

describe('workflow graph semantics (AWX dag_workflow)', () => {
  test.each(CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const { nodes, edges, id, name } = build(c);
    const d = decideWorkflow(nodes, edges, { cancelRequested: c.cancel });
    if (c.start) expect(d.start.map(name).sort()).toEqual([...c.start].sort());
    if (c.dnr) expect(d.doNotRun.map(name).sort()).toEqual([...c.dnr].sort());
    if (c.cancelJobs) expect(d.cancelJobs.sort()).toEqual(c.cancelJobs.map((n) => id(n) + 100).sort());
    if (c.finished !== undefined) expect(d.finished?.status ?? null).toBe(c.finished);
    if (d.finished?.status === 'failed') expect(d.finished.explanation).toBe(NO_ERROR_PATH_EXPLANATION);
  });

  test('a decision never writes through to the nodes it was given', () => {
    const { nodes, edges } = build({ name: '', nodes: { A: { status: 'successful' }, B: {} }, edges: ['A f B'] });
    expect(decideWorkflow(nodes, edges).doNotRun).toEqual([2]);
    expect(nodes[1].doNotRun).toBe(false);
  });

  test('a whole run, pass after pass, reaches the outcome AWX gives', () => {
    // sync → job (fails) → on failure a second job (succeeds); the success child never runs.
    const { nodes, edges, name } = build({ name: '', nodes: { S: {}, J: {}, OK: {}, RB: {} }, edges: ['S s J', 'J s OK', 'J f RB'] });
    const outcome: Record<string, string> = { S: 'successful', J: 'failed', RB: 'successful' };
    const started: string[] = [];
    for (let pass = 0; pass < 10; pass++) {
      const d = decideWorkflow(nodes, edges);
      for (const n of d.doNotRun) nodes[n - 1].doNotRun = true;
      if (d.finished) {
        expect(d.finished.status).toBe('successful');
        expect(started).toEqual(['S', 'J', 'RB']);
        expect(nodes.filter((n) => n.doNotRun).map((n) => name(n.id))).toEqual(['OK']);
        return;
      }
      for (const n of d.start) {
        started.push(name(n));
        nodes[n - 1].job = { id: n + 100, status: outcome[name(n)] };
      }
    }
    throw new Error('workflow never finished');
  });

  test('recursion refused: a workflow template already above the node is named with the spawn chain', () => {
    expect(recursionExplanation(7, 'outer', [{ id: 9, name: 'inner' }, { id: 7, name: 'outer' }])).toBe(
      'Workflow Job spawned from workflow could not start because it would result in recursion (spawn order, most recent first: <outer>, <inner>, <outer>)');
    expect(recursionExplanation(8, 'other', [{ id: 9, name: 'inner' }, { id: 7, name: 'outer' }])).toBeNull();
  });

  test('cycles are found (edges AWX refuses with "Cycle detected.")', () => {
    const g = (e: string[]) => { const b = build({ name: '', nodes: { A: {}, B: {}, C: {}, D: {} }, edges: e }); return new WorkflowGraph(b.nodes, b.edges); };
    expect(g(['A s B', 'B s C', 'C f D']).hasCycle()).toBe(false);
    expect(g(['A s B', 'B s C', 'C f B']).hasCycle()).toBe(true);
    expect(g(['A s B', 'B a A', 'C s D', 'D s C']).hasCycle()).toBe(true);
    expect(g(['A s B', 'A s C', 'B s D', 'C s D']).hasCycle()).toBe(false);
  });
});
