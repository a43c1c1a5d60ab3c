import { PlaystreamError } from '../errors.js';
import { ENCRYPTED_PLACEHOLDER, isEncrypted, type SecretBox } from '../security/secrets.js';
import { parseVars } from './vars.js';

/**
 * Survey passwords, both ends (AWX's `survey_passwords`): at launch the answers to a
 * survey's `password` questions are sealed — stored in the job's extra_vars as SecretBox
 * ciphertext and named in `survey_passwords` as {"<variable>": "$encrypted$"} — and at run
 * time the runner opens them into the extravars file it writes, and redacts the plaintext
 * from everything the job leaves behind (events, stdout, job_args).
 *
 * Only values sealed here are ever decrypted. A launch encrypts every answer it is given,
 * even one that looks like ciphertext, so a client cannot hand the runner another secret's
 * ciphertext (a credential's, read from a backup) and get it decrypted into its playbook.
 * The one ciphertext a launch keeps is the question's default, which only the template's
 * admin sets and which survey_spec stores encrypted.
 */
export interface SurveyQuestionLike { variable: string; type?: string; default?: unknown }

/** The `password` questions of an enabled survey (AWX's survey_password_variables). */
export function surveyPasswordQuestions(surveyEnabled: boolean, spec: unknown): SurveyQuestionLike[] {
  const list = (spec as { spec?: unknown } | null)?.spec;
  if (!surveyEnabled || !Array.isArray(list)) return [];
  return list.filter((q): q is SurveyQuestionLike => typeof q?.variable === 'string' && q.type === 'password');
}

export interface SealedSurvey {
  /** The job's extra vars with each survey password as ciphertext. */
  vars: Record<string, unknown>;
  /** `survey_passwords` of the job: {"<variable>": "$encrypted$"}. */
  surveyPasswords: Record<string, string>;
}

/**
 * Seals the survey passwords of `vars` before the job is stored. `extraNames` are variables
 * to seal besides the questions (a relaunch's, whose answers the caller decrypted). Without
 * a SecretBox (a caller not yet given one) the answers stay as given and are still named,
 * so the API masks them and the runner redacts them; an encrypted-looking answer is then
 * refused, since the runner would decrypt it.
 */
export function sealSurveyPasswords(secrets: SecretBox | undefined, questions: SurveyQuestionLike[],
  vars: Record<string, unknown>, extraNames: Iterable<string> = []): SealedSurvey {
  const out = { ...vars };
  const surveyPasswords: Record<string, string> = {};
  const defaults = new Map(questions.map((q) => [q.variable, q.default]));
  for (const name of new Set([...questions.map((q) => q.variable), ...extraNames])) {
    const v = out[name];
    if (v === undefined || v === null || v === '') continue;
    surveyPasswords[name] = ENCRYPTED_PLACEHOLDER;
    const sealedDefault = typeof v === 'string' && isEncrypted(v) && v === defaults.get(name);
    if (sealedDefault) continue;
    if (secrets) out[name] = secrets.encrypt(typeof v === 'string' ? v : JSON.stringify(v));
    else if (typeof v === 'string' && isEncrypted(v)) {
      throw new PlaystreamError('PS_ERR_VALIDATION', `survey password ${name} cannot be given as an encrypted value`);
    }
  }
  return { vars: out, surveyPasswords };
}

/** The plaintext of a job's survey passwords: for the runner's extravars, and for a relaunch to seal again. */
export function openSurveyPasswords(job: { extra_vars?: unknown; survey_passwords?: unknown }, secrets: SecretBox): Record<string, unknown> {
  const names = Object.keys((job.survey_passwords ?? {}) as Record<string, unknown>);
  if (!names.length) return {};
  const vars = parseVars(job.extra_vars);
  const out: Record<string, unknown> = {};
  for (const name of names) {
    const v = vars[name];
    if (v === undefined) continue;
    out[name] = typeof v === 'string' && isEncrypted(v) ? secrets.decrypt(v) : v;
  }
  return out;
}

/**
 * What the runner needs of a job's survey passwords: the decrypted values to merge over the
 * job's extra vars when it writes the extravars file, and the strings its Redactor must
 * remove from events, stdout, job_args and explanations.
 */
export function surveySecrets(job: Record<string, unknown>, secrets: SecretBox): {
  extraVars: Record<string, unknown>; redact: string[];
} {
  const extraVars = openSurveyPasswords(job, secrets);
  const redact = Object.values(extraVars).map((v) => (typeof v === 'string' ? v : JSON.stringify(v)));
  return { extraVars, redact };
}

/** AWX's display_extra_vars: a job's extra vars as the API shows them, survey passwords as "$encrypted$". */
export function displayExtraVars(extraVars: unknown, surveyPasswords: unknown): unknown {
  const names = Object.keys((surveyPasswords ?? {}) as Record<string, unknown>);
  if (!names.length || typeof extraVars !== 'string' || extraVars === '') return extraVars;
  let vars: Record<string, unknown>;
  try { vars = parseVars(extraVars); } catch { return extraVars; }
  for (const name of names) if (Object.hasOwn(vars, name)) vars[name] = ENCRYPTED_PLACEHOLDER;
  return JSON.stringify(vars);
}
