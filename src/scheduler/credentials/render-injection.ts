import fs from 'node:fs';
import path from 'node:path';
import type { CredentialTypeInjectors, CredentialTypeInputs } from '../../db/managed-credential-types.js';
import { log } from '../../log.js';
import { builtinInjectors, credentialValues } from './builtin-injectors.js';
import { envNameProblem } from './credential-type-rules.js';
import { renderTemplate } from './injector-template.js';

/**
 * One credential's injection — environment, extra vars and files — for any type, managed or
 * custom, as AWX's CredentialType.inject_credential renders it:
 * - a managed type without template injectors runs its builtin injector (builtin-injectors.ts);
 * - otherwise the type's `file`, `env` and `extra_vars` templates (injector-template.ts) are
 *   rendered over the credential's inputs: inputs set to '' are left undefined, unset boolean
 *   fields are False, an ssh_private_key field ends with a newline; each `file.template[.name]`
 *   is written (0600) and its path is `tower.filename[.name]` to the other templates;
 * - an env name a custom type may not set (ANSIBLE_*, PATH, LD_PRELOAD...) is skipped with a
 *   log line, as AWX does at run time (saving such a type is refused: credential-type-rules.ts);
 * - for an inventory update (`forInventory`) no extra vars are produced: ansible-inventory has
 *   no -e, and AWX skips them the same way.
 */
export interface CredentialTypeDef {
  namespace: string | null;
  managed: boolean;
  inputs: CredentialTypeInputs;
  injectors: CredentialTypeInjectors;
}

export interface RenderedInjection {
  env: Record<string, string>;
  extraVars: Record<string, unknown>;
  files: string[];
}

export function renderInjection(type: CredentialTypeDef, inputs: Record<string, unknown>, privateDataDir: string,
  opts: { credentialId: number; forInventory?: boolean }): RenderedInjection {
  const out: RenderedInjection = { env: {}, extraVars: {}, files: [] };
  const writeFile = (label: string, content: string) => {
    const file = path.join(privateDataDir, `credential_${opts.credentialId}_${label}`);
    fs.writeFileSync(file, content, { mode: 0o600 });
    out.files.push(file);
    return file;
  };
  const fields = type.inputs?.fields ?? [];
  const injectors = type.injectors ?? {};
  if (type.managed && !Object.keys(injectors).length) {
    const builtin = type.namespace ? builtinInjectors[type.namespace] : undefined;
    builtin?.({ values: credentialValues(inputs, fields), env: out.env, writeFile, forInventory: Boolean(opts.forInventory) });
    return out;
  }
  const ns: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(inputs)) {
    if (typeof v === 'boolean') ns[k] = v;
    else if (v !== '' && v !== null && v !== undefined) ns[k] = v;
  }
  for (const f of fields) {
    if (f.type === 'boolean' && !Object.hasOwn(inputs, f.id)) ns[f.id] = false;
    if (f.format === 'ssh_private_key' && typeof ns[f.id] === 'string' && !(ns[f.id] as string).endsWith('\n')) ns[f.id] += '\n';
  }
  const tower: { filename?: string | Record<string, string> } = {};
  ns.tower = tower;
  for (const [key, template] of Object.entries(injectors.file ?? {})) {
    const name = key.includes('.') ? key.split('.')[1] : '';
    const file = writeFile(name ? `file_${name}` : 'file', renderTemplate(template, ns));
    if (name) tower.filename = { ...(typeof tower.filename === 'object' ? tower.filename : {}), [name]: file };
    else tower.filename = file;
  }
  for (const [name, template] of Object.entries(injectors.env ?? {})) {
    const problem = envNameProblem(name);
    if (problem) { log.warn('credential type env injector skipped', { name, problem }); continue; }
    out.env[name] = renderTemplate(template, ns);
  }
  if (!opts.forInventory) {
    const build = (node: unknown): unknown => {
      if (Array.isArray(node)) return node.map(build);
      if (node && typeof node === 'object') {
        return Object.fromEntries(Object.entries(node).map(([k, v]) => [renderTemplate(k, ns), build(v)]));
      }
      return renderTemplate(String(node), ns);
    };
    out.extraVars = build(injectors.extra_vars ?? {}) as Record<string, unknown>;
  }
  return out;
}
