/**
 * The variables a system job takes (AWX's SystemJobTemplate._accept_or_ignore_variables):
 * `days` for cleanup_jobs and cleanup_activitystream, a whole number ≥ 0 (a number, or a
 * string Python's int() reads). AWX also lets `older_than` and `granularity` through, for
 * management commands Playstream does not have, and lets `days` through to the two kinds
 * that never read it: here each of those is refused by name rather than accepted and ignored.
 * Checked where a launch is asked for (the launch endpoint, a schedule's extra_data).
 */
export const DAYS_JOB_TYPES = ['cleanup_jobs', 'cleanup_activitystream'];

function wholeDays(v: unknown): boolean {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0;
  return typeof v === 'string' && /^\s*\+?\d{1,9}\s*$/.test(v);
}

/** Problems with a system job's variables (empty when it may run with them). */
export function systemJobVarProblems(jobType: string, vars: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const unknown = Object.keys(vars).filter((k) => !['days', 'older_than', 'granularity'].includes(k));
  if (unknown.length) problems.push(`Variables ${unknown.join(', ')} are not allowed for system jobs.`);
  const unsupported = Object.keys(vars).filter((k) => k === 'older_than' || k === 'granularity');
  if (unsupported.length) problems.push(`Variables ${unsupported.join(', ')} are not supported by Playstream's system jobs.`);
  if ('days' in vars) {
    if (!DAYS_JOB_TYPES.includes(jobType)) problems.push(`days does not apply to ${jobType} jobs.`);
    else if (!wholeDays(vars.days)) problems.push('days must be a positive integer.');
  }
  return problems;
}
