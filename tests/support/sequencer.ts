import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Starts the longest files first. Vitest orders by the durations of a previous run, which a
 * fresh clone (CI) does not have, and then by file size: the awx.awx playbook test, the
 * longest (~3 min) and one of the smallest files, started last and ran alone at the end.
 * Longest first, the two forks finish together. Patterns in rough order of duration, except
 * where noted.
 */
const LONGEST_FIRST = [
  'api/awx-collection', 'workflows/awx-workflows', 'foundation/start', 'console/setup-in-console', 'console/awx-pages', 'security/auth-throttle',
  'console/workflows', 'scheduler/run-jobs', 'workflows/run-workflows', 'console/live-job', 'foundation/first-launch',
  'console/output-200k', 'scheduler/every-line-kept',
  // Three full nodes and thirty playbooks: it starves a file beside it, so it starts once the
  // awx.awx test (whose client gives up on a request after 10 s) is done.
  'cluster/',
];

export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (f: TestSpecification) => {
      const i = LONGEST_FIRST.findIndex((p) => f.moduleId.includes(`/tests/${p}`));
      return i < 0 ? LONGEST_FIRST.length : i;
    };
    return sorted.map((f, i) => ({ f, i })).sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i).map(({ f }) => f);
  }
}
