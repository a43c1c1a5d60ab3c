import { useCallback, useEffect, useState } from 'preact/hooks';
import { type ApiObject, del, get, type Page, post } from '../api.js';
import { EdgeLegend, GraphView, type ViewNode } from './graph-view.js';
import { EDGE_KINDS, edgesOf, type EdgeKind } from './layout.js';

/**
 * A workflow job template's graph, and (with edit rights) its editing through AWX's node
 * API: a node is added with POST `workflow_nodes/` (or `N/<kind>_nodes/` to add it after
 * node N), an approval node by creating a node and then its `create_approval_template/`;
 * two nodes are linked by POST `{id}` to `from/<kind>_nodes/` and unlinked with
 * `{id, disassociate: true}`; a node is removed by DELETE (its edges go with it). The
 * server checks everything (cycles, one edge kind per pair, who may use a template); its
 * refusals are shown as they come.
 */
const NODE_TEMPLATE_TYPES = ['job_template', 'workflow_job_template', 'project', 'inventory_source'];

export function GraphEditor(props: { templateId: number; editable: boolean }) {
  const base = `/api/v2/workflow_job_templates/${props.templateId}/`;
  const [nodes, setNodes] = useState<ApiObject[]>();
  const [templates, setTemplates] = useState<ApiObject[]>([]);
  const [selected, setSelected] = useState<number>();
  const [error, setError] = useState('');

  const load = useCallback(async () => {
    const page = await get<Page<ApiObject>>(`${base}workflow_nodes/?page_size=200&order_by=id`);
    setNodes(page.results);
  }, [base]);
  useEffect(() => { void load().catch((err) => setError((err as Error).message)); }, [load]);
  useEffect(() => {
    if (!props.editable) return;
    void get<Page<ApiObject>>('/api/v2/unified_job_templates/?page_size=200&order_by=name')
      .then((p) => setTemplates(p.results.filter((t) => NODE_TEMPLATE_TYPES.includes(t.type) && t.id !== props.templateId)))
      .catch(() => setTemplates([]));
  }, [props.editable, props.templateId]);

  async function run(fn: () => Promise<unknown>) {
    setError('');
    try {
      await fn();
    } catch (err) {
      setError((err as Error).message);
    }
    await load().catch(() => undefined);
  }

  const label = (n: ApiObject) => `${n.summary_fields?.unified_job_template?.name ?? '(no template)'} · ${n.identifier}`;
  const viewNodes: ViewNode[] = (nodes ?? []).map((n) => ({
    ...n, identifier: n.identifier, status: n.unified_job_template == null ? 'missing' : 'template',
    title: n.summary_fields?.unified_job_template?.name ?? '(no template)',
    subtitle: <span class="muted">{n.summary_fields?.unified_job_template?.unified_job_type?.replace(/_/g, ' ') ?? ''} · {n.identifier}</span>,
  }));
  const sel = (nodes ?? []).find((n) => n.id === selected);
  const selEdges = sel ? edgesOf(nodes ?? []).filter((e) => e.from === sel.id) : [];

  async function addNode(form: HTMLFormElement) {
    const f = new FormData(form);
    const template = String(f.get('template') ?? '');
    const parent = String(f.get('parent') ?? '');
    const kind = String(f.get('kind') ?? 'success') as EdgeKind;
    const identifier = String(f.get('identifier') ?? '').trim();
    const body: Record<string, unknown> = {};
    if (identifier) body.identifier = identifier;
    if (template && template !== 'approval') body.unified_job_template = Number(template);
    const url = parent ? `/api/v2/workflow_job_template_nodes/${parent}/${kind}_nodes/` : `${base}workflow_nodes/`;
    await run(async () => {
      const node = await post<ApiObject>(url, body);
      if (template === 'approval') {
        await post(`/api/v2/workflow_job_template_nodes/${node.id}/create_approval_template/`, {
          name: String(f.get('approval_name') ?? '').trim() || 'Approval', timeout: Number(f.get('approval_timeout') || 0) });
      }
      form.reset();
    });
  }

  async function link(form: HTMLFormElement) {
    const f = new FormData(form);
    await run(() => post(`/api/v2/workflow_job_template_nodes/${f.get('from')}/${f.get('kind')}_nodes/`, { id: Number(f.get('to')) }));
  }

  return (
    <div class="wf-editor" data-testid="wf-editor">
      <div class="card wf-card">
        {nodes ? <GraphView nodes={viewNodes} selected={selected} onNodeClick={(n) => setSelected(n.id === selected ? undefined : n.id)} />
          : <div class="muted">Loading nodes…</div>}
        {nodes && nodes.length === 0 && <div class="muted">No nodes yet.</div>}
        <EdgeLegend />
      </div>
      {error && <div class="error" role="alert">{error}</div>}
      {props.editable && sel && (
        <div class="card" data-testid="wf-selected">
          <div class="table-head"><h2>{label(sel)}</h2><span class="spacer" />
            <button type="button" class="btn-danger" onClick={() => void run(async () => {
              await del(`/api/v2/workflow_job_template_nodes/${sel.id}/`);
              setSelected(undefined);
            })}>Remove node</button>
          </div>
          <table class="table compact">
            <tbody>
              {selEdges.map((e) => {
                const to = nodes!.find((n) => n.id === e.to)!;
                return (
                  <tr key={`${e.kind}-${e.to}`} data-edge={`${e.from}-${e.kind}-${e.to}`}>
                    <td>on {e.kind} → {label(to)}</td>
                    <td class="actions">
                      <button type="button" class="btn-small" onClick={() => void run(() => post(
                        `/api/v2/workflow_job_template_nodes/${e.from}/${e.kind}_nodes/`, { id: e.to, disassociate: true }))}>Remove link</button>
                    </td>
                  </tr>
                );
              })}
              {selEdges.length === 0 && <tr><td class="muted">No links from this node.</td></tr>}
            </tbody>
          </table>
        </div>
      )}
      {props.editable && (
        <div class="wf-forms">
          <form class="card form" data-testid="wf-add-node" onSubmit={(e) => { e.preventDefault(); void addNode(e.currentTarget as HTMLFormElement); }}>
            <h2>Add node</h2>
            <label>Template
              <select name="template" required>
                <option value="" />
                <option value="approval">Approval</option>
                {templates.map((t) => <option key={t.id} value={t.id}>{t.name} ({t.type.replace(/_/g, ' ')})</option>)}
              </select>
            </label>
            <label>Identifier<input name="identifier" placeholder="(generated)" /></label>
            <label>After node
              <select name="parent"><option value="">(none: a root)</option>{(nodes ?? []).map((n) => <option key={n.id} value={n.id}>{label(n)}</option>)}</select>
            </label>
            <label>Run<KindSelect /></label>
            <label>Approval name<input name="approval_name" /></label>
            <label>Approval timeout (seconds, 0: none)<input name="approval_timeout" type="number" min={0} defaultValue="0" /></label>
            <div class="form-actions"><button type="submit" class="btn-primary">Add node</button></div>
          </form>
          <form class="card form" data-testid="wf-link" onSubmit={(e) => { e.preventDefault(); void link(e.currentTarget as HTMLFormElement); }}>
            <h2>Link nodes</h2>
            <label>From<NodeSelect name="from" nodes={nodes ?? []} label={label} /></label>
            <label>Run<KindSelect /></label>
            <label>To<NodeSelect name="to" nodes={nodes ?? []} label={label} /></label>
            <div class="form-actions"><button type="submit" class="btn-primary">Link</button></div>
          </form>
        </div>
      )}
    </div>
  );
}

function KindSelect() {
  return <select name="kind">{EDGE_KINDS.map((k) => <option key={k} value={k}>on {k}</option>)}</select>;
}

function NodeSelect(props: { name: string; nodes: ApiObject[]; label: (n: ApiObject) => string }) {
  return (
    <select name={props.name} required>
      <option value="" />
      {props.nodes.map((n) => <option key={n.id} value={n.id}>{props.label(n)}</option>)}
    </select>
  );
}
