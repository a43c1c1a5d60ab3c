import fs from 'node:fs';
import inspector from 'node:inspector/promises';

/**
 * With `BENCH_CPU_PROF=1`, profiles this process (the receiver's) between start() and the
 * returned stop(), which writes `<label>-<time>.cpuprofile` to the cwd. Without it, both
 * are no-ops, so a measured run pays nothing.
 */
export async function startCpuProfile(label: string): Promise<() => Promise<void>> {
  if (!process.env.BENCH_CPU_PROF) return async () => {};
  const session = new inspector.Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return async () => {
    const { profile } = await session.post('Profiler.stop');
    const file = `${label}-${Date.now()}.cpuprofile`;
    fs.writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
    console.log(`  CPU profile written to ${file}`);
  };
}
