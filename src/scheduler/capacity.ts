/**
 * Capacity and impact, as AWX computes them (awx/main/utils/common.py, docs/capacity.md).
 *
 * - CPU capacity: 4 forks per CPU (AWX's SYSTEM_TASK_FORKS_CPU).
 * - Memory capacity: one fork per 100 MB (SYSTEM_TASK_FORKS_MEM) after 2048 MB reserved for
 *   the rest of the system, at least 1.
 * - Instance capacity: between the smaller and the larger of the two, placed by
 *   capacity_adjustment (1.0, AWX's default, takes the larger).
 * - Task impact: jobs and ad hoc commands `min(hosts, forks or 5) + 1` (the +1 is the
 *   ansible-playbook parent process), project and inventory updates 1, system jobs 5.
 */
export const FORKS_PER_CPU = 4;
export const MEM_PER_FORK_MB = 100;
export const MEM_RESERVED_MB = 2048;
export const DEFAULT_FORKS = 5;

export function cpuCapacity(cpus: number): number {
  return Math.max(1, Math.floor(cpus * FORKS_PER_CPU));
}

export function memCapacity(memoryBytes: number): number {
  const mb = memoryBytes / (1024 * 1024);
  return Math.max(1, Math.floor((mb - MEM_RESERVED_MB) / MEM_PER_FORK_MB));
}

export function instanceCapacity(cpus: number, memoryBytes: number, adjustment = 1): {
  cpuCapacity: number; memCapacity: number; capacity: number;
} {
  const c = cpuCapacity(cpus);
  const m = memCapacity(memoryBytes);
  const lo = Math.min(c, m);
  const hi = Math.max(c, m);
  return { cpuCapacity: c, memCapacity: m, capacity: Math.floor(lo + (hi - lo) * adjustment) };
}

export function taskImpact(kind: string, hostCount: number, forks: number): number {
  switch (kind) {
    case 'job':
    case 'ad_hoc_command':
      return Math.min(hostCount, forks > 0 ? forks : DEFAULT_FORKS) + 1;
    case 'system_job':
      return 5;
    default:
      return 1;
  }
}
