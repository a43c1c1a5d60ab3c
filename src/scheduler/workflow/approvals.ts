import type pg from 'pg';
import { log } from '../../log.js';
import { saveFinalStatus, type StatusBus } from '../job-states.js';
import { createApprovalNotifications } from './approval-notifications.js';

/**
 * Approving or denying a workflow approval (AWX's WorkflowApproval.approve/deny): pending →
 * successful or failed through the job state machine, which records who decided and wakes
 * the task manager to advance the workflow, and notifies the approval's decision. Returns false when it was no longer pending
 * (decided, timed out or canceled meanwhile): the conditional UPDATE lets one decision win.
 * Who may decide is the API's business (the approval role on the workflow's template).
 */
export async function decideApproval(pool: pg.Pool, bus: StatusBus | undefined, approvalId: number, userId: number | null,
  approve: boolean): Promise<boolean> {
  const decided = await saveFinalStatus(pool, bus, approvalId, { status: approve ? 'successful' : 'failed',
    extra: { approved_or_denied_by_id: userId } }, ['pending']);
  // AWX's send_approval_notification('approved' | 'denied'), for the decision that won.
  if (decided) {
    await createApprovalNotifications(pool, approvalId, approve ? 'approved' : 'denied')
      .catch((err) => log.warn('approval notifications failed', { job: approvalId, err }));
  }
  return decided;
}
