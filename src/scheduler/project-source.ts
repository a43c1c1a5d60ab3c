import fs from 'node:fs';
import path from 'node:path';
import type { ScmAuth } from './scm-credential.js';

/**
 * What a project update (project-update.ts) hands the step that fetches its source — git,
 * svn or an archive (project-git.ts, project-svn.ts, project-archive.ts) — and what they share.
 */
export interface UpdatePlan { scm_branch: string; refspecs: string[]; privateDir: string; localRepo: string | null }

/**
 * What a project update's source step is given: the checkout directory (bound writable in the
 * sandbox), `run` (a program in the sandbox, bounded by the update's deadline, `input` on its
 * stdin), and `step` (one task of the update's output). It answers the revision checked out,
 * or null when a step failed (the step has said why).
 */
export interface SourceFetch {
  dir: string;
  project: Record<string, any> & { id: number; name: string; local_path: string };
  plan: UpdatePlan;
  auth: ScmAuth;
  privateDir: string;
  deadline: number;
  step: (name: string, fn: () => Promise<string>) => Promise<boolean>;
  run: (program: string, args: string[], opts?: { input?: string; cwd?: string }) => Promise<string>;
}

/** Removes what a directory holds and keeps the directory (the sandbox binds it by path). */
export function emptyDirectory(dir: string): void {
  for (const name of fs.readdirSync(dir)) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
}
