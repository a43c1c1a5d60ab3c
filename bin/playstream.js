#!/usr/bin/env node
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The Node versions package.json's `engines` names, checked before anything loads: the
// websocket server's native build (@trufflesuite/uws-js-unofficial) ships for Node 16, 18 and
// 20 only, and on any other major it falls back, silently, to a JavaScript polyfill many
// times slower; undici 7 needs 20.18.1. So another version is refused, not run slowly.
// PLAYSTREAM_TEST_NODE_VERSION stands in for the running version; only
// tests/foundation/node-version.test.ts sets it.
const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const range = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).engines.node;
const running = process.env.PLAYSTREAM_TEST_NODE_VERSION || process.versions.node;
if (!satisfies(running, range)) {
  process.stderr.write(`playstream needs Node.js ${range} (package.json engines); this is Node.js ${running}.\n`
    + 'Install Node.js 20 (README.md, Quick start) and run it again.\n');
  process.exit(1);
}

const entry = path.join(root, 'dist', 'cli.js');
if (!fs.existsSync(entry)) {
  process.stderr.write('playstream is not built: run `npm run build` (npm start and npm test build it for you)\n');
  process.exit(1);
}
await import(entry);

/**
 * Whether `version` is in `range`, for the one form `engines` uses here: caret ranges
 * (`^20.18.1`) joined by `||`. Any other form throws, so a change to `engines` that this
 * cannot read is caught by the test rather than waved through.
 */
function satisfies(version, range) {
  const parse = (v) => v.replace(/^v/, '').split('.').map(Number);
  const [major, minor, patch] = parse(version);
  return range.split('||').some((part) => {
    const m = /^\s*\^(\d+)\.(\d+)\.(\d+)\s*$/.exec(part);
    if (!m) throw new Error(`package.json engines.node: cannot read ${JSON.stringify(part)} (expected ^X.Y.Z ranges joined by ||)`);
    const [, lo1, lo2, lo3] = m.map(Number);
    return major === lo1 && (minor > lo2 || (minor === lo2 && patch >= lo3));
  });
}
