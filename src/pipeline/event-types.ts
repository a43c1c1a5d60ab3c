/**
 * AWX's event types: level (0 playbook … 3 host), display name and whether the event marks
 * its row failed. The table is AWX's `BasePlaybookEvent.EVENT_TYPES`, written out once so
 * derive.ts and the serializers look an event up in one Map probe instead of scanning.
 */
export interface EventType { level: number; display: string; failed: boolean }

const TYPES: [number, string, string, boolean][] = [
  [3, 'runner_on_failed', 'Host Failed', true],
  [3, 'runner_on_start', 'Host Started', false],
  [3, 'runner_on_ok', 'Host OK', false],
  [3, 'runner_on_error', 'Host Failure', true],
  [3, 'runner_on_skipped', 'Host Skipped', false],
  [3, 'runner_on_unreachable', 'Host Unreachable', true],
  [3, 'runner_on_no_hosts', 'No Hosts Remaining', false],
  [3, 'runner_on_async_poll', 'Host Polling', false],
  [3, 'runner_on_async_ok', 'Host Async OK', false],
  [3, 'runner_on_async_failed', 'Host Async Failure', true],
  [3, 'runner_item_on_ok', 'Item OK', false],
  [3, 'runner_item_on_failed', 'Item Failed', true],
  [3, 'runner_item_on_skipped', 'Item Skipped', false],
  [3, 'runner_retry', 'Host Retry', false],
  [3, 'runner_on_file_diff', 'File Difference', false],
  [0, 'playbook_on_start', 'Playbook Started', false],
  [2, 'playbook_on_notify', 'Running Handlers', false],
  [2, 'playbook_on_include', 'Including File', false],
  [2, 'playbook_on_no_hosts_matched', 'No Hosts Matched', false],
  [2, 'playbook_on_no_hosts_remaining', 'No Hosts Remaining', false],
  [2, 'playbook_on_task_start', 'Task Started', false],
  [1, 'playbook_on_vars_prompt', 'Variables Prompted', false],
  [2, 'playbook_on_setup', 'Gathering Facts', false],
  [2, 'playbook_on_import_for_host', 'internal: on Import for Host', false],
  [2, 'playbook_on_not_import_for_host', 'internal: on Not Import for Host', false],
  [1, 'playbook_on_play_start', 'Play Started', false],
  [1, 'playbook_on_stats', 'Playbook Complete', false],
  [0, 'debug', 'Debug', false],
  [0, 'verbose', 'Verbose', false],
  [0, 'deprecated', 'Deprecated', false],
  [0, 'warning', 'Warning', false],
  [0, 'system_warning', 'System Warning', false],
  [0, 'error', 'Error', true],
];

const byName = new Map<string, EventType>(TYPES.map(([level, name, display, failed]) => [name, { level, display, failed }]));
const UNKNOWN: EventType = { level: 0, display: '', failed: false };

export function eventType(event: string): EventType {
  return byName.get(event) ?? UNKNOWN;
}

/** AWX's `get_event_display2`: the display name, with the play or task for their start events. */
export function eventDisplay(event: string, play: string, task: string, role: string, isConditional: boolean): string {
  let msg = eventType(event).display || event;
  if (event === 'playbook_on_play_start' && play) msg = `${msg} (${play})`;
  else if (event === 'playbook_on_task_start' && task) {
    if (isConditional) msg = 'Handler Notified';
    msg = role ? `${msg} (${role} | ${task})` : `${msg} (${task})`;
  }
  return msg;
}
