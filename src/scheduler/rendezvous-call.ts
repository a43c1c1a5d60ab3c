/**
 * The pipeline's final-status rendezvous, called inside the transaction that saves a final
 * status (job-states.ts): with the receiver's wrapup it creates the notification rows once.
 */
export { finalStatusSaved } from '../pipeline/rendezvous.js';
