import fs from 'node:fs';

/**
 * CPU seconds spent by each side of the benchmark, read from /proc: robust to a shared
 * machine where wall-clock rates swing with other people's load. Postgres is the
 * postmaster and all its children (backends, WAL writer, checkpointer); exited children
 * (psql's backends) are counted through the postmaster's cutime/cstime.
 */
/** Clock ticks per second in /proc's CPU times (USER_HZ, 100 on Linux). */
export const TICK = 100;

function procTimes(pid: number): { self: number; children: number; ppid: number } | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After "pid (comm) ": state=0 ppid=1 ... utime=11 stime=12 cutime=13 cstime=14
    return { ppid: Number(f[1]), self: (Number(f[11]) + Number(f[12])) / TICK, children: (Number(f[13]) + Number(f[14])) / TICK };
  } catch {
    return null;
  }
}

/** CPU seconds of `root` and every live descendant, plus its reaped children. */
export function treeCpuSeconds(root: number): number {
  const byParent = new Map<number, number[]>();
  for (const d of fs.readdirSync('/proc')) {
    const pid = Number(d);
    if (!pid) continue;
    const t = procTimes(pid);
    if (!t) continue;
    let l = byParent.get(t.ppid);
    if (!l) byParent.set(t.ppid, l = []);
    l.push(pid);
  }
  let total = 0;
  const visit = (pid: number) => {
    const t = procTimes(pid);
    if (!t) return;
    total += t.self + t.children;
    for (const c of byParent.get(pid) ?? []) visit(c);
  };
  visit(root);
  return total;
}

/** CPU seconds (user + system) process `pid` has used itself; NaN when it is gone. */
export function processCpuSeconds(pid: number | undefined): number {
  const t = pid === undefined ? null : procTimes(pid);
  return t ? t.self : NaN;
}

/** CPU seconds of this process's reaped children (producer processes, psql). */
export function reapedChildrenCpuSeconds(): number {
  return procTimes(process.pid)!.children;
}

export function selfCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Samples a set of named CPU counters; `since()` returns the deltas in µs per `events`. */
export function cpuMeter(sources: Record<string, () => number>) {
  const start = Object.fromEntries(Object.entries(sources).map(([k, f]) => [k, f()]));
  return {
    perEvent(events: number): Record<string, number> {
      return Object.fromEntries(Object.entries(sources).map(([k, f]) => [k, ((f() - start[k]) * 1e6) / events]));
    },
  };
}

export function formatCpu(perEvent: Record<string, number>): string {
  const total = Object.values(perEvent).reduce((a, b) => a + b, 0);
  return `${Object.entries(perEvent).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(', ')}; total ${total.toFixed(1)} µs CPU/event`;
}
