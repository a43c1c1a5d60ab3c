import type { CredentialTypeInputs, FieldSpec } from '../../db/managed-credential-types.js';
import { ENV_NAME, isSandboxSensitiveEnvName } from '../sandbox/env-names.js';
import { parseTemplate, templateNames, TemplateError } from './injector-template.js';

/**
 * What AWX checks when a credential type or a credential is saved (its CredentialTypeInputField,
 * CredentialTypeInjectorField and CredentialInputField), returning `{field: [messages]}` for a
 * 400; an empty object means valid.
 * - type inputs: `fields` objects with a word `id` (unique, not `tower`) and a `label`, `type`
 *   string|boolean, `format` ssh_private_key|url, `choices` only on strings, a `default` of the
 *   field's type; `required` a list of field ids; `dependencies` only on managed types;
 * - injectors: only `file` (`template` or `template.<name>`, not both), `env` (names that are
 *   environment variable names and none of AWX's ENV_BLOCKLIST, ANSIBLE_*, nor what the job
 *   sandbox keeps for itself: LD_*, PYTHON*...) and `extra_vars`; every template parses in the
 *   supported Jinja subset and reads only defined fields and the tower.filename it defines;
 * - credential inputs: only the type's fields, booleans as booleans, strings as strings, a
 *   value among `choices`, a `dependencies` field only
 *   with what it depends on. (AWX's `required` is a hint to its UI: it does not refuse a
 *   credential without one, so neither does Playstream.)
 */
type Errors = Record<string, string[]>;

const AWX_ENV_BLOCKLIST = new Set(['VIRTUAL_ENV', 'PATH', 'PYTHONPATH', 'JOB_ID', 'INVENTORY_ID', 'INVENTORY_SOURCE_ID',
  'INVENTORY_UPDATE_ID', 'AD_HOC_COMMAND_ID', 'REST_API_URL', 'REST_API_TOKEN', 'MAX_EVENT_RES', 'CALLBACK_QUEUE',
  'CALLBACK_CONNECTION', 'CACHE', 'JOB_CALLBACK_DEBUG', 'INVENTORY_HOSTVARS', 'AWX_HOST', 'PROJECT_REVISION', 'SUPERVISOR_CONFIG_PATH',
  'HOME']);

export function envNameProblem(name: string): string | null {
  if (!ENV_NAME.test(name)) return `${JSON.stringify(name)} is not an environment variable name`;
  if (name.startsWith('ANSIBLE_')) return `Environment variable ${name} may affect Ansible configuration so its use is not allowed in credentials.`;
  if (AWX_ENV_BLOCKLIST.has(name) || isSandboxSensitiveEnvName(name)) return `Environment variable ${name} is not allowed to be used in credentials.`;
  return null;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export function credentialTypeInputsErrors(inputs: unknown, managed = false): Errors {
  if (!isObject(inputs)) return { inputs: ['Must be an object.'] };
  const problems: string[] = [];
  for (const k of Object.keys(inputs)) if (!['fields', 'required', 'dependencies', 'metadata'].includes(k)) problems.push(`${k}: not an allowed key`);
  if (inputs.dependencies !== undefined && !managed) problems.push("'dependencies' is not supported for custom credentials.");
  const fields = inputs.fields ?? [];
  if (!Array.isArray(fields)) problems.push('fields must be a list.');
  const seen = new Set<string>();
  for (const [i, f] of (Array.isArray(fields) ? fields : []).entries()) {
    if (!isObject(f) || typeof f.id !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(f.id)) { problems.push(`fields.${i}: an id of letters, digits and _ is required`); continue; }
    const at = `fields.${i} (${f.id})`;
    if (f.id === 'tower' || f.id === 'awx') problems.push(`"${f.id}" is a reserved field name`);
    if (seen.has(f.id)) problems.push(`field IDs must be unique (${f.id})`);
    seen.add(f.id);
    if (typeof f.label !== 'string') problems.push(`${at}: label is required`);
    const type = f.type ?? 'string';
    if (type !== 'string' && type !== 'boolean') problems.push(`${at}: type must be string or boolean`);
    for (const k of Object.keys(f)) {
      if (!['id', 'label', 'type', 'help_text', 'secret', 'multiline', 'ask_at_runtime', 'format', 'choices', 'default'].includes(k)) problems.push(`${at}: ${k} is not an allowed key`);
    }
    if (f.format !== undefined && !['ssh_private_key', 'url', ...(managed ? ['vault_id'] : [])].includes(f.format as string)) problems.push(`${at}: format must be ssh_private_key or url`);
    for (const k of ['secret', 'multiline', 'ask_at_runtime'] as const) if (f[k] !== undefined && typeof f[k] !== 'boolean') problems.push(`${at}: ${k} must be a boolean`);
    if (f.choices !== undefined) {
      if (type !== 'string') problems.push(`${at}: choices must be used with type string`);
      else if (!Array.isArray(f.choices) || !f.choices.length || f.choices.some((c) => typeof c !== 'string') || new Set(f.choices).size !== f.choices.length) {
        problems.push(`${at}: choices must be a list of distinct strings`);
      }
    }
    if (f.default !== undefined && typeof f.default !== (type === 'boolean' ? 'boolean' : 'string')) problems.push(`${at}: ${JSON.stringify(f.default)} is not a ${type}`);
  }
  if (inputs.required !== undefined && (!Array.isArray(inputs.required) || inputs.required.some((r) => typeof r !== 'string'))) problems.push('required must be a list of field ids');
  return problems.length ? { inputs: problems } : {};
}

export function credentialTypeInjectorsErrors(injectors: unknown, inputs: CredentialTypeInputs): Errors {
  if (!isObject(injectors)) return { injectors: ['Must be an object.'] };
  const problems: string[] = [];
  const defined = new Set((inputs.fields ?? []).map((f) => f.id));
  for (const k of Object.keys(injectors)) if (!['file', 'env', 'extra_vars'].includes(k)) problems.push(`${k}: not an allowed key (file, env, extra_vars)`);
  const file = injectors.file ?? {};
  const env = injectors.env ?? {};
  const extraVars = injectors.extra_vars ?? {};
  for (const [k, v] of [['file', file], ['env', env], ['extra_vars', extraVars]] as const) if (!isObject(v)) problems.push(`${k} must be an object`);
  if (problems.length) return { injectors: problems };
  const fileKeys = Object.keys(file as object);
  for (const k of fileKeys) {
    if (!/^template(\.[a-zA-Z_]+[a-zA-Z0-9_]*)?$/.test(k)) problems.push(`file.${k}: file injectors are named template or template.<name>`);
    if (typeof (file as Record<string, unknown>)[k] !== 'string') problems.push(`file.${k}: must be a string`);
  }
  if (fileKeys.includes('template') && fileKeys.length > 1) problems.push('Must use multi-file syntax when injecting multiple files');
  const named = new Set(fileKeys.filter((k) => k.includes('.')).map((k) => k.split('.')[1]));
  const check = (where: string, template: unknown) => {
    if (typeof template !== 'string') { problems.push(`${where}: must be a string`); return; }
    try {
      for (const p of templateNames(parseTemplate(template))) {
        if (p[0] === 'tower') {
          if (p.length === 1 || p[1] !== 'filename') problems.push(`${where}: Cannot directly reference reserved \`tower\` namespace container.`);
          else if (p.length === 2 ? !fileKeys.includes('template') : !named.has(p[2]) || p.length > 3) {
            problems.push(`${where} uses an undefined field (${p.join('.')}): define the file injector it names`);
          }
        } else if (!defined.has(p[0]) || p.length > 1) problems.push(`${where} uses an undefined field (${p.join('.')})`);
      }
    } catch (err) {
      if (!(err instanceof TemplateError)) throw err;
      problems.push(`${where}: ${err.message}`);
    }
  };
  for (const k of fileKeys) check(`file.${k}`, (file as Record<string, unknown>)[k]);
  for (const [k, v] of Object.entries(env as object)) {
    const problem = envNameProblem(k);
    if (problem) problems.push(problem);
    check(`env.${k}`, v);
  }
  const walk = (where: string, node: unknown) => {
    if (Array.isArray(node)) node.forEach((x, i) => walk(`${where}[${i}]`, x));
    else if (isObject(node)) {
      for (const [k, v] of Object.entries(node)) {
        if (where === 'extra_vars' && !/^[a-zA-Z_{}]+[a-zA-Z0-9_{}]*$/.test(k)) problems.push(`extra_vars.${k}: not a variable name`);
        check(`${where} key ${k}`, k);
        walk(`${where}.${k}`, v);
      }
    } else check(where, node);
  };
  walk('extra_vars', extraVars);
  return problems.length ? { injectors: problems } : {};
}

/** A credential's inputs against its type (AWX's CredentialInputField): errors keyed by input name. */
export function credentialInputsErrors(inputs: Record<string, unknown>, typeInputs: CredentialTypeInputs): Errors {
  const errors: Errors = {};
  const fields = new Map<string, FieldSpec>((typeInputs.fields ?? []).map((f) => [f.id, f]));
  for (const [k, v] of Object.entries(inputs)) {
    const f = fields.get(k);
    if (!f) { errors[k] = [`Additional properties are not allowed ('${k}' was unexpected)`]; continue; }
    if (v === null || v === undefined) continue;
    if ((f.type ?? 'string') === 'boolean') {
      if (typeof v !== 'boolean') errors[k] = [`${JSON.stringify(v)} is not of type 'boolean'`];
    } else if (typeof v !== 'string') errors[k] = [`${JSON.stringify(v)} is not of type 'string'`];
    else if (f.choices && v !== '' && !f.choices.includes(v)) errors[k] = [`'${v}' is not one of ${JSON.stringify(f.choices)}`];
  }
  for (const [field, needs] of Object.entries(typeInputs.dependencies ?? {})) {
    if (Object.hasOwn(inputs, field) && needs.some((n) => !Object.hasOwn(inputs, n))) errors[field] = [`cannot be set unless "${fields.get(needs[0])?.label ?? needs[0]}" is set`];
  }
  return errors;
}
