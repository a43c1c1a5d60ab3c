/**
 * The part of Jinja that credential type injectors are written in, as AWX renders them
 * (an ImmutableSandboxedEnvironment with Jinja's defaults):
 *   {{ field }}                 a credential input; an unset one renders as ''
 *   {{ tower.filename }}        the path of the type's one file injector (`file.template`)
 *   {{ tower.filename.name }}   the path of `file.template.name` (several files)
 *   {% if x %} … {% elif y %} … {% else %} … {% endif %}, with `not x`
 *   {# comment #}, and `-` whitespace control on any tag ({{- x -}}, {%- if x -%})
 * Values print as Python's str() prints them (True/False for booleans), and one trailing
 * newline of a template is dropped, as Jinja's keep_trailing_newline=False does.
 * Anything else (filters, calls, arithmetic, loops) is refused when the credential type is
 * saved (validateTemplate → 400 naming the injector), never rendered half-way at run time.
 */
export class TemplateError extends Error {}

type Expr = { not: boolean; path: string[] };
type Node = string | { out: Expr } | { branches: { cond: Expr | null; body: Node[] }[] };

const TAG = /\{\{-?\s*([\s\S]*?)\s*-?\}\}|\{%-?\s*([\s\S]*?)\s*-?%\}|\{#[\s\S]*?#\}/g;
const PATH = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const MAX_TEMPLATE = 64 * 1024;

function parseExpr(text: string): Expr {
  const m = /^(not\s+)?(.*)$/s.exec(text.trim())!;
  const path = m[2].trim();
  if (!PATH.test(path)) throw new TemplateError(`unsupported expression {{ ${text.trim()} }}: only input names and tower.filename are allowed`);
  return { not: Boolean(m[1]), path: path.split('.') };
}

/** Tags with `-` trim the whitespace next to them, as in Jinja. */
function tokenize(template: string): (string | { expr?: string; stmt?: string })[] {
  if (template.length > MAX_TEMPLATE) throw new TemplateError(`template longer than ${MAX_TEMPLATE} characters`);
  const out: (string | { expr?: string; stmt?: string })[] = [];
  let last = 0;
  let trimNext = false;
  for (const m of template.matchAll(TAG)) {
    let text = template.slice(last, m.index);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (m[0][2] === '-') text = text.replace(/\s+$/, '');
    if (text) out.push(text);
    trimNext = m[0][m[0].length - 3] === '-';
    if (m[1] !== undefined) out.push({ expr: m[1] });
    else if (m[2] !== undefined) out.push({ stmt: m[2] });
    last = m.index + m[0].length;
  }
  let rest = template.slice(last);
  if (trimNext) rest = rest.replace(/^\s+/, '');
  if (rest.includes('{{') || rest.includes('{%')) throw new TemplateError('unclosed tag');
  if (rest) out.push(rest);
  return out;
}

export function parseTemplate(template: string): Node[] {
  const tokens = tokenize(template.endsWith('\n') ? template.slice(0, -1) : template);
  let i = 0;
  const block = (ends: string[]): [Node[], string | null] => {
    const nodes: Node[] = [];
    while (i < tokens.length) {
      const t = tokens[i++];
      if (typeof t === 'string') { nodes.push(t); continue; }
      if (t.expr !== undefined) { nodes.push({ out: parseExpr(t.expr) }); continue; }
      const stmt = t.stmt!;
      const word = stmt.split(/\s+/)[0];
      if (ends.includes(word)) { i--; return [nodes, word]; }
      if (word !== 'if') throw new TemplateError(`unsupported tag {% ${stmt} %}: only if/elif/else/endif are allowed`);
      const branches: { cond: Expr | null; body: Node[] }[] = [];
      let cond: Expr | null = parseExpr(stmt.slice(2));
      for (;;) {
        const [body, end] = block(['elif', 'else', 'endif']);
        branches.push({ cond, body });
        if (end === null) throw new TemplateError('{% if %} without {% endif %}');
        const endStmt = (tokens[i++] as { stmt: string }).stmt;
        if (end === 'endif') { if (endStmt !== 'endif') throw new TemplateError(`unsupported tag {% ${endStmt} %}`); break; }
        if (end === 'else') {
          if (endStmt !== 'else') throw new TemplateError(`unsupported tag {% ${endStmt} %}`);
          if (branches.some((b) => b.cond === null)) throw new TemplateError('two {% else %} in one {% if %}');
          cond = null;
        } else {
          cond = parseExpr(endStmt.slice(4));
        }
      }
      nodes.push({ branches });
    }
    return [nodes, null];
  };
  const [nodes, end] = block([]);
  if (end) throw new TemplateError(`{% ${end} %} without {% if %}`);
  return nodes;
}

/** The names a template reads: for validation against the type's fields. */
export function templateNames(nodes: Node[], into: string[][] = []): string[][] {
  for (const n of nodes) {
    if (typeof n === 'string') continue;
    if ('out' in n) into.push(n.out.path);
    else for (const b of n.branches) { if (b.cond) into.push(b.cond.path); templateNames(b.body, into); }
  }
  return into;
}

function lookup(ns: Record<string, unknown>, path: string[]): unknown {
  let v: unknown = ns;
  for (const p of path) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, p)) return undefined;
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

/** Python's truthiness, for {% if %}. */
function truthy(v: unknown): boolean {
  if (v === undefined || v === null || v === false || v === '' || v === 0) return false;
  if (typeof v === 'object') return Object.keys(v as object).length > 0;
  return true;
}

/** Python's str(), for {{ }}: what AWX writes for a boolean input is "True" / "False". */
export function pythonStr(v: unknown): string {
  if (v === undefined) return '';
  if (v === null) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function renderNodes(nodes: Node[], ns: Record<string, unknown>): string {
  let out = '';
  for (const n of nodes) {
    if (typeof n === 'string') out += n;
    else if ('out' in n) { const v = lookup(ns, n.out.path); out += n.out.not ? pythonStr(!truthy(v)) : pythonStr(v); }
    else {
      const b = n.branches.find((x) => x.cond === null || truthy(lookup(ns, x.cond.path)) !== x.cond.not);
      if (b) out += renderNodes(b.body, ns);
    }
  }
  return out;
}

export function renderTemplate(template: string, ns: Record<string, unknown>): string {
  return renderNodes(parseTemplate(String(template)), ns);
}
