// Bundles the server (src/cli.ts → dist/cli.js) and the console (console/ → dist/console/).
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const watch = process.argv.includes('--watch');

const server = {
  entryPoints: [path.join(root, 'src/cli.ts')],
  outfile: path.join(root, 'dist/cli.js'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
};

const consoleEntry = path.join(root, 'console/src/main.tsx');
const consoleBuild = fs.existsSync(consoleEntry) && {
  entryPoints: [consoleEntry],
  outdir: path.join(root, 'dist/console'),
  bundle: true,
  minify: true,
  platform: 'browser',
  target: 'es2022',
  format: 'esm',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  loader: { '.css': 'css' },
  entryNames: 'app',
  logLevel: 'warning',
};

const builds = [server, consoleBuild].filter(Boolean);
if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
  if (consoleBuild) fs.copyFileSync(path.join(root, 'console/index.html'), path.join(root, 'dist/console/index.html'));
}
