import type { Redis } from 'ioredis';
import type pg from 'pg';
import type { Config } from '../config.js';
import type { JobKind } from '../db/job-kinds.js';
import type { SecretBox } from '../security/secrets.js';
import type { FinalFields } from './job-states.js';

/**
 * What every job kind is run with (run-unified-job.ts calls the kinds; the kinds import
 * this, not run-unified-job.ts, so there is no import cycle). Each kind also gets the job's
 * one EventPusher (event-push.ts), built by runUnifiedJob, and adds its secrets to the
 * pusher's redactor before it pushes anything.
 */
export interface JobContext {
  pool: pg.Pool;
  redis: Redis;
  config: Config;
  secrets: SecretBox;
  /** Registers the function that stops this job when a cancel arrives; returns an unregister. */
  onCancel(jobId: number, stop: () => void): () => void;
}

export type JobRow = Record<string, any> & { id: number; kind: JobKind; created: Date; timeout: number };

export interface KindResult { final: FinalFields }
