import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertCredential } from '../../src/db/credentials.js';
import { launchProjectUpdate } from '../../src/scheduler/launch.js';
import { useTestEnv, type TestEnv } from '../support/harness.js';
import { createGitRepo, orgId, pushedEvents, runInProcess } from './support.js';

/**
 * A project update from a git server that demands HTTP Basic auth: git's own smart-HTTP
 * backend (`git http-backend`, as CGI) behind a Node server on a free loopback port. The
 * update runs in this process (support.ts runInProcess).
 */
let t: TestEnv;
let server: http.Server;
let url = '';
const PASSWORD = 'pw-' + Math.random().toString(36).slice(2);
let revision = '';

function startGitServer(root: string): Promise<void> {
  server = http.createServer((req, res) => {
    if (req.headers.authorization !== `Basic ${Buffer.from(`git:${PASSWORD}`).toString('base64')}`) {
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"' }).end();
      return;
    }
    const u = new URL(req.url ?? '/', 'http://localhost');
    const cgi = spawn('git', ['http-backend'], { env: { PATH: process.env.PATH, GIT_PROJECT_ROOT: root, GIT_HTTP_EXPORT_ALL: '1',
      PATH_INFO: u.pathname, QUERY_STRING: u.search.slice(1), REQUEST_METHOD: req.method, CONTENT_TYPE: req.headers['content-type'] ?? '',
      HTTP_CONTENT_ENCODING: req.headers['content-encoding'] ?? '', REMOTE_USER: 'git', REMOTE_ADDR: '127.0.0.1' } });
    req.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let body = false;
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (body) { res.write(chunk); return; }
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      let status = 200;
      for (const line of head.subarray(0, end).toString().split('\r\n')) {
        const i = line.indexOf(':');
        if (line.slice(0, i).toLowerCase() === 'status') status = parseInt(line.slice(i + 1), 10);
        else res.setHeader(line.slice(0, i), line.slice(i + 1).trim());
      }
      res.writeHead(status);
      body = true;
      res.write(head.subarray(end + 4));
    });
    cgi.stdout.on('end', () => res.end());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/repo.git`;
    resolve();
  }));
}

const runUpdate = async (project: number) => runInProcess(t, await launchProjectUpdate(t.pool, project));

const scmTmpDirs = () => fs.readdirSync(os.tmpdir()).filter((n) => n.startsWith('playstream-scm-')).sort();

beforeAll(async () => {
  t = await useTestEnv();
  const work = path.join(t.dataDir, 'work');
  revision = createGitRepo(work, { 'site.yml': '- hosts: all\n  tasks: []\n' });
  execFileSync('git', ['clone', '--quiet', '--bare', work, path.join(t.dataDir, 'served', 'repo.git')]);
  await startGitServer(path.join(t.dataDir, 'served'));
});
afterAll(() => { server?.close(); });

describe('project update with a Source Control credential', () => {
  it('fails without the credential and checks out with it, the password in no event, URL or .git/config', async () => {
    const org = await orgId(t.pool);
    const project = (await t.pool.query(`INSERT INTO projects (name, organization_id, scm_type, scm_url, local_path)
      VALUES ('private', $1, 'git', $2, 'private') RETURNING id`, [org, url])).rows[0].id;
    const denied = await runUpdate(project);
    expect(denied.status).toBe('failed');
    expect(JSON.stringify(await pushedEvents(t, 'project_update_id', denied.id))).toMatch(/Authentication failed|could not read Username/);

    const scmType = (await t.pool.query(`SELECT id FROM credential_types WHERE kind = 'scm' AND namespace = 'scm'`)).rows[0].id;
    const cred = await insertCredential(t.pool, t.secrets, { name: 'git', organization_id: org, credential_type_id: scmType,
      inputs: { username: 'git', password: PASSWORD } });
    await t.pool.query('UPDATE projects SET credential_id = $2 WHERE id = $1', [project, cred]);
    const tmpBefore = scmTmpDirs();
    const update = await runUpdate(project);
    expect(update.status, update.result_traceback).toBe('successful');
    const { rows: [p] } = await t.pool.query('SELECT scm_revision, playbook_files FROM projects WHERE id = $1', [project]);
    expect(p).toEqual({ scm_revision: revision, playbook_files: ['site.yml'] });

    const checkout = path.join(t.dataDir, 'projects', 'private');
    expect(fs.readFileSync(path.join(checkout, '.git', 'config'), 'utf8')).not.toContain(PASSWORD);
    expect(execFileSync('git', ['remote', 'get-url', 'origin'], { cwd: checkout, encoding: 'utf8' }).trim()).toBe(url);
    const events = JSON.stringify(await pushedEvents(t, 'project_update_id', update.id));
    expect(events).toContain(revision);
    expect(events).not.toContain(PASSWORD);
    expect(JSON.stringify(update)).not.toContain(PASSWORD);
    expect(scmTmpDirs()).toEqual(tmpBefore);

    // A fetch into the existing checkout authenticates the same way.
    const again = await runUpdate(project);
    expect(again.status, again.result_traceback).toBe('successful');
  });
});
