import { defineResource } from '../engine/resource.js';
import { base, ro } from './common.js';
import { unifiedJobAccess } from './unified-jobs.js';

/**
 * Per-host results of a job (the receiver writes them from playbook_on_stats). Readable
 * by whoever can read the job: the condition is the unified jobs' one, applied to the job row.
 */
export const jobHostSummaries = defineResource({
  key: 'job_host_summaries', type: 'job_host_summary', table: 'job_host_summaries',
  fields: {
    ...base,
    job: ro('int', { fk: 'jobs' }), host: ro('int', { fk: 'hosts' }), host_name: ro('text'),
    changed: ro('int'), dark: ro('int'), failures: ro('int'), ignored: ro('int'), ok: ro('int'), processed: ro('int'),
    rescued: ro('int'), skipped: ro('int'), failed: ro('bool'),
  },
  search: ['host_name'], defaultOrder: 'host_name', readOnly: true, noDelete: true,
  access: {
    roleType: 'job_template', idExpr: '(SELECT j.unified_job_template_id FROM unified_jobs j WHERE j.id = t.job_id)',
    orgExpr: '(SELECT j.organization_id FROM unified_jobs j WHERE j.id = t.job_id)',
    readSql: (g, p) => `t.job_id IN (SELECT t.id FROM unified_jobs t WHERE ${unifiedJobAccess.readSql(g, p)})`,
  },
  related: (r) => ({ job: `/api/v2/jobs/${r.job}/`, ...(r.host ? { host: `/api/v2/hosts/${r.host}/` } : {}) }),
});
