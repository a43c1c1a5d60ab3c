import { parseVars } from '../scheduler/vars.js';
import { ENCRYPTED_PLACEHOLDER, sealSecretValue, type SecretBox } from '../security/secrets.js';

/**
 * Survey answers at launch, as AWX takes them: with the survey enabled, the extra vars that
 * name a survey question are accepted whatever `ask_variables_on_launch` says, after
 * checking each answer against its question (type, length or range, choices); a required
 * question without an answer or a default stops the launch. Other extra vars are accepted
 * only when the template asks for variables, and are otherwise ignored.
 */
export interface SurveyQuestion {
  variable: string;
  type: 'text' | 'textarea' | 'password' | 'integer' | 'float' | 'multiplechoice' | 'multiselect';
  required?: boolean;
  default?: unknown;
  min?: number | null;
  max?: number | null;
  choices?: string | string[];
  question_name?: string;
}

export interface SurveyResult {
  /** Vars to run with (survey answers and defaults, plus accepted free vars). */
  accepted: Record<string, unknown>;
  /** Vars the template did not allow. */
  ignored: Record<string, unknown>;
  /** Problems, AWX's `variables_needed_to_start` messages. */
  errors: string[];
}

function choicesOf(q: SurveyQuestion): string[] {
  if (Array.isArray(q.choices)) return q.choices.map(String);
  return (q.choices ?? '').split('\n').map((c) => c.trim()).filter(Boolean);
}

function hasDefault(q: SurveyQuestion): boolean {
  return q.default !== undefined && q.default !== null && q.default !== '';
}

function checkAnswer(q: SurveyQuestion, v: unknown): string | undefined {
  const name = q.variable;
  switch (q.type) {
    case 'text': case 'textarea': case 'password': {
      if (typeof v !== 'string') return `Value ${JSON.stringify(v)} for '${name}' expected to be a string.`;
      if (q.min != null && v.length < q.min) return `'${name}' value ${JSON.stringify(v)} is too small (length is ${v.length} must be at least ${q.min}).`;
      if (q.max != null && v.length > q.max) return `'${name}' value ${JSON.stringify(v)} is too large (must be no more than ${q.max}).`;
      return undefined;
    }
    case 'integer': case 'float': {
      const ok = q.type === 'integer' ? Number.isInteger(v) : typeof v === 'number' && Number.isFinite(v);
      if (!ok) return `Value ${JSON.stringify(v)} for '${name}' expected to be ${q.type === 'integer' ? 'an integer' : 'a numeric type'}.`;
      if (q.min != null && (v as number) < q.min) return `'${name}' value ${v} is too small (must be at least ${q.min}).`;
      if (q.max != null && (v as number) > q.max) return `'${name}' value ${v} is too large (must be no more than ${q.max}).`;
      return undefined;
    }
    case 'multiplechoice':
      return choicesOf(q).includes(String(v)) ? undefined : `Value ${JSON.stringify(v)} for '${name}' expected to be one of ${JSON.stringify(choicesOf(q))}.`;
    case 'multiselect': {
      const values = Array.isArray(v) ? v : typeof v === 'string' ? v.split('\n') : null;
      if (!values) return `'${name}' value ${JSON.stringify(v)} is not a list.`;
      const bad = values.filter((x) => !choicesOf(q).includes(String(x)));
      return bad.length ? `Value ${JSON.stringify(bad[0])} for '${name}' expected to be one of ${JSON.stringify(choicesOf(q))}.` : undefined;
    }
    default:
      return undefined;
  }
}

export function surveyQuestions(spec: unknown): SurveyQuestion[] {
  const list = (spec as { spec?: unknown } | null)?.spec;
  return Array.isArray(list) ? list.filter((q): q is SurveyQuestion => typeof q?.variable === 'string') : [];
}

/** Required questions without a default: AWX's `variables_needed_to_start` on launch GET. */
export function variablesNeeded(surveyEnabled: boolean, spec: unknown): string[] {
  if (!surveyEnabled) return [];
  return surveyQuestions(spec).filter((q) => q.required && !hasDefault(q)).map((q) => q.variable);
}

export function applySurvey(template: { survey_enabled: boolean; survey_spec: unknown; ask_variables_on_launch: boolean },
  extraVars: unknown): SurveyResult {
  const given = parseVars(extraVars);
  const questions = template.survey_enabled ? surveyQuestions(template.survey_spec) : [];
  const result: SurveyResult = { accepted: {}, ignored: {}, errors: [] };
  const asked = new Set(questions.map((q) => q.variable));
  for (const [k, v] of Object.entries(given)) {
    if (asked.has(k)) continue;
    if (template.ask_variables_on_launch) result.accepted[k] = v;
    else result.ignored[k] = v;
  }
  for (const q of questions) {
    if (Object.hasOwn(given, q.variable) && !(q.type === 'password' && given[q.variable] === '$encrypted$')) {
      const problem = checkAnswer(q, given[q.variable]);
      if (problem) result.errors.push(problem);
      else result.accepted[q.variable] = given[q.variable];
    } else if (hasDefault(q)) {
      result.accepted[q.variable] = q.default;
    } else if (q.required) {
      result.errors.push(`'${q.variable}' value missing`);
    }
  }
  return result;
}

/**
 * A survey spec as POSTed, with each `password` question's default encrypted (AWX's
 * survey_spec POST): "$encrypted$" — what GET showed — keeps the stored default of the
 * question with the same variable, so a client can post back the spec it read.
 */
export function sealSurveySpec(secrets: SecretBox, spec: Record<string, unknown>, stored: unknown): Record<string, unknown> {
  if (!Array.isArray(spec.spec)) return spec;
  const before = new Map(surveyQuestions(stored).map((q) => [q.variable, q]));
  return { ...spec, spec: spec.spec.map((q: unknown) => {
    const question = q as SurveyQuestion;
    if (!question || typeof question !== 'object' || question.type !== 'password' || !hasDefault(question)) return q;
    const old = before.get(question.variable);
    return { ...question, default: sealSecretValue(secrets, question.default, old?.type === 'password' ? old.default : undefined) ?? '' };
  }) };
}

/** A survey spec as the API shows it (AWX's display_survey_spec): password defaults as "$encrypted$". */
export function displaySurveySpec(spec: unknown): unknown {
  const list = (spec as { spec?: unknown } | null)?.spec;
  if (!Array.isArray(list)) return spec ?? {};
  return { ...(spec as Record<string, unknown>), spec: list.map((q) =>
    (q && typeof q === 'object' && q.type === 'password' && hasDefault(q) ? { ...q, default: ENCRYPTED_PLACEHOLDER } : q)) };
}

const QUESTION_TYPES: Record<SurveyQuestion['type'], 'string' | 'integer' | 'float'> = {
  text: 'string', textarea: 'string', password: 'string', multiplechoice: 'string', multiselect: 'string', integer: 'integer', float: 'float',
};

/**
 * A survey spec as AWX's SurveySpecView checks it before storing (`_validate_spec_data`):
 * `name`, `description` strings and a non-empty `spec` list; each question an object with
 * string `type`, `question_name`, `variable` and boolean `required`, its variable unique,
 * its type known, its default of the type's kind, `min`/`max` integers, choices for the
 * choice types with the defaults among them, `$encrypted$` only as a stored password's
 * default. Returns AWX's message for the first problem, or the spec with choices and
 * multi-line defaults trimmed of blank lines as AWX stores them.
 */
export function checkSurveySpec(spec: Record<string, unknown>, stored: unknown): { error: string } | { spec: Record<string, unknown> } {
  for (const [field, kind] of [['name', 'string'], ['description', 'string'], ['spec', 'list of items']] as const) {
    const v = spec[field];
    if (!(field in spec)) return { error: `Field '${field}' is missing from survey spec.` };
    if (field === 'spec' ? !Array.isArray(v) : typeof v !== 'string') {
      return { error: `Expected ${kind} for field '${field}', received ${Array.isArray(v) ? 'list' : v === null ? 'NoneType' : typeof v} type.` };
    }
  }
  const list = spec.spec as unknown[];
  if (!list.length) return { error: "'spec' doesn't contain any items." };
  const before = new Map(surveyQuestions(stored).map((q) => [q.variable, q]));
  const seen = new Set<string>();
  const out: unknown[] = [];
  for (const [idx, raw] of list.entries()) {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return { error: `Survey question ${idx} is not a json object.` };
    const q = { ...(raw as Record<string, unknown>) };
    for (const f of ['type', 'question_name', 'variable', 'required']) {
      if (!(f in q)) return { error: `'${f}' missing from survey question ${idx}` };
      if (f === 'required' ? typeof q[f] !== 'boolean' : typeof q[f] !== 'string') {
        return { error: `'${f}' in survey question ${idx} expected to be ${f === 'required' ? 'boolean' : 'string'}.` };
      }
    }
    const variable = q.variable as string;
    if (seen.has(variable)) return { error: `'variable' '${variable}' duplicated in survey question ${idx}.` };
    seen.add(variable);
    const type = q.type as SurveyQuestion['type'];
    const kind = QUESTION_TYPES[type];
    if (!kind) return { error: `'${String(q.type)}' in survey question ${idx} is not one of '${Object.keys(QUESTION_TYPES).join(', ')}' allowed question types.` };
    if ('default' in q && q.default !== '') {
      const d = q.default;
      const ok = kind === 'string' ? typeof d === 'string' || (type === 'multiselect' && Array.isArray(d))
        : kind === 'integer' ? Number.isInteger(d) : typeof d === 'number';
      if (!ok) return { error: `Default value ${String(d)} in survey question ${idx} expected to be ${kind === 'string' ? 'string' : kind}.` };
    }
    for (const k of ['min', 'max']) {
      if (k in q && q[k] !== null && !Number.isInteger(q[k])) return { error: `The ${k} limit in survey question ${idx} expected to be integer.` };
    }
    if (type === 'multiplechoice' || type === 'multiselect') {
      if (!('choices' in q)) return { error: `Survey question ${idx} of type ${type} must specify choices.` };
      if (typeof q.choices === 'string') q.choices = linesOf(q.choices).join('\n');
      if ('default' in q) {
        if (typeof q.default === 'string') q.default = linesOf(q.default).join('\n');
        const defaults = typeof q.default === 'string' ? linesOf(q.default) : Array.isArray(q.default) ? q.default.map(String) : [];
        if (type === 'multiplechoice' && defaults.length > 1) return { error: 'Multiple Choice (Single Select) can only have one default value.' };
        const choices = choicesOf(q as unknown as SurveyQuestion);
        if (defaults.some((d) => !choices.includes(d))) return { error: 'Default choice must be answered from the choices listed.' };
      }
    }
    if (typeof q.default === 'string' && q.default.startsWith(ENCRYPTED_PLACEHOLDER)) {
      if (type !== 'password') return { error: `$encrypted$ is a reserved keyword for password question defaults, survey question ${idx} is type ${type}.` };
      const old = before.get(variable);
      const oldDefault = old?.type === 'password' ? old.default : undefined;
      if (typeof oldDefault !== 'string') return { error: `$encrypted$ is a reserved keyword, may not be used for new default in position ${idx}.` };
    }
    out.push(q);
  }
  return { spec: { ...spec, spec: out } };
}

function linesOf(text: string): string[] {
  return text.split(/\r?\n/).filter((l) => l.trim() !== '');
}
