import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package root, found by walking up from this module to package.json: the same answer
 * whether the code runs from src/ (vitest) or from the esbuild bundle in dist/.
 */
function findPackageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('package.json not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
  return dir;
}

export const packageRoot = findPackageRoot();
export const migrationsDir = path.join(packageRoot, 'src', 'db', 'migrations');
export const consoleDistDir = path.join(packageRoot, 'dist', 'console');
export const cliEntry = path.join(packageRoot, 'dist', 'cli.js');

/**
 * The CLI bundle this code runs from (dist/cli.js or a test's copy of it), else dist/cli.js
 * (unbundled, under vitest): what `start` forks its roles from, so a rebuild of dist/ while
 * it runs (an upgrade, another test run in this tree) cannot mix two versions in one node.
 */
export function runningCliEntry(): string {
  const self = fileURLToPath(import.meta.url);
  return path.basename(self) === 'cli.js' ? self : cliEntry;
}
export const version: string = JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')).version;

/**
 * A file of the fixtures shared by every checkout of the project (recorded runner streams,
 * ../shared/fixtures/README.md): a sibling of the repository, found from its root, so tests,
 * benches and docs work wherever the checkout lives.
 */
export function sharedFixture(name: string): string {
  return path.join(packageRoot, '..', 'shared', 'fixtures', name);
}
