// Runs a TypeScript benchmark or load driver: bundles <entry> into dist/<name>.js (so its
// child processes can re-run that file with a role argument) and runs it with the rest of
// the arguments. Usage: node scripts/bench.mjs <entry.ts> <name> [args...]
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
let argv = process.argv.slice(2);
let nodeFlags = [];
if (argv[0] === '--role') {
  const flags = JSON.parse(fs.readFileSync(path.join(root, 'src', 'role-node-flags.json'), 'utf8'));
  if (!Array.isArray(flags[argv[1]])) {
    process.stderr.write(`unknown role ${argv[1]}\n`);
    process.exit(2);
  }
  nodeFlags = flags[argv[1]];
  argv = argv.slice(2);
}
const [entry, name, ...args] = argv;
if (!entry || !name) {
  process.stderr.write('usage: node scripts/bench.mjs <entry.ts> <name> [args...]\n');
  process.exit(2);
}
const outfile = path.join(root, 'dist', `${name}.js`);
await esbuild.build({
  entryPoints: [path.join(root, entry)], outfile, bundle: true, platform: 'node', target: 'node20',
  format: 'esm', packages: 'external', logLevel: 'warning',
});
const child = spawn(process.execPath, [...nodeFlags, outfile, ...args], { stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(signal ? 1 : code ?? 1));
