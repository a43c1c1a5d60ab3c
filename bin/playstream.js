#!/usr/bin/env node
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const entry = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli.js');
if (!fs.existsSync(entry)) {
  process.stderr.write('playstream is not built: run `npm run build` (npm start and npm test build it for you)\n');
  process.exit(1);
}
await import(entry);
