/**
 * The five unified job kinds and every name that hangs off each: the job reference field
 * producers put on events, the event table, the websocket group, the API path and the
 * `type` AWX shows. One table, used by the pipeline, the scheduler and the API alike.
 */
export const JOB_KINDS = ['job', 'project_update', 'inventory_update', 'ad_hoc_command', 'system_job'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

export interface JobKindInfo {
  kind: JobKind;
  /** Field on the wire event naming the job: `job_id`, `project_update_id`, ... */
  refField: string;
  /** Event table (partitioned by job_created). */
  eventTable: string;
  /** Websocket group of its events (AWX's name; the group is `${eventGroup}-${id}`). */
  eventGroup: string;
  /** API collection: /api/v2/<apiPath>/N/. */
  apiPath: string;
  /** API path of the events sub-list: /api/v2/<apiPath>/N/<eventsPath>/. */
  eventsPath: string;
  /** Event `type` in the API (AWX's). */
  eventType: string;
  /** The wrapup event that ends the job's stream: playbook_on_stats, or EOF where there is no playbook. */
  wrapupEvent: 'playbook_on_stats' | 'EOF';
  /** Its playbook_on_stats writes job_host_summaries and hosts' last job (AWX: JobEvent only, both point at jobs). */
  hostSummaries: boolean;
}

export const jobKinds: Record<JobKind, JobKindInfo> = {
  job: { kind: 'job', refField: 'job_id', eventTable: 'job_events', eventGroup: 'job_events', apiPath: 'jobs',
    eventsPath: 'job_events', eventType: 'job_event', wrapupEvent: 'playbook_on_stats', hostSummaries: true },
  project_update: { kind: 'project_update', refField: 'project_update_id', eventTable: 'project_update_events',
    eventGroup: 'project_update_events', apiPath: 'project_updates', eventsPath: 'events', eventType: 'project_update_event',
    wrapupEvent: 'playbook_on_stats', hostSummaries: false },
  inventory_update: { kind: 'inventory_update', refField: 'inventory_update_id', eventTable: 'inventory_update_events',
    eventGroup: 'inventory_update_events', apiPath: 'inventory_updates', eventsPath: 'events', eventType: 'inventory_update_event',
    wrapupEvent: 'EOF', hostSummaries: false },
  ad_hoc_command: { kind: 'ad_hoc_command', refField: 'ad_hoc_command_id', eventTable: 'ad_hoc_command_events',
    eventGroup: 'ad_hoc_command_events', apiPath: 'ad_hoc_commands', eventsPath: 'events', eventType: 'ad_hoc_command_event',
    wrapupEvent: 'playbook_on_stats', hostSummaries: false },
  system_job: { kind: 'system_job', refField: 'system_job_id', eventTable: 'system_job_events', eventGroup: 'system_job_events',
    apiPath: 'system_jobs', eventsPath: 'events', eventType: 'system_job_event', wrapupEvent: 'EOF', hostSummaries: false },
};

export const jobKindByApiPath: Record<string, JobKindInfo> = Object.fromEntries(
  Object.values(jobKinds).map((k) => [k.apiPath, k]));
