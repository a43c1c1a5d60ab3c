import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertCredential } from '../../src/db/credentials.js';
import { launchJobTemplate, launchProjectUpdate } from '../../src/scheduler/launch.js';
import { projectDir } from '../../src/scheduler/private-data-dir.js';
import { stopChild } from '../../src/services/child-process.js';
import { freePort, waitForPort } from '../../src/services/free-port.js';
import { useTestEnv, type TestEnv } from '../support/harness.js';
import { insertJobTemplate, orgId, pushedEvents, runInProcess } from './support.js';

/**
 * Project types besides git, as AWX updates them: `svn` (a real repository made with
 * svnadmin, checked out over file://) and `archive` (tarballs and a zip served by a local
 * HTTP server that demands Basic auth), with scm_branch as an svn revision, scm_clean and
 * scm_delete_on_update, and jobs running the playbooks each brought.
 */
let t: TestEnv;
let org: number;
let inventory: number;

const playbook = (msg: string) => `- hosts: all\n  gather_facts: false\n  tasks:\n    - debug: msg="${msg}"\n`;

beforeAll(async () => {
  t = await useTestEnv();
  org = await orgId(t.pool);
  inventory = (await t.pool.query(`INSERT INTO inventories (name, organization_id) VALUES ('I', $1) RETURNING id`, [org])).rows[0].id;
  await t.pool.query(`INSERT INTO hosts (name, inventory_id, variables) VALUES ('localhost', $1, $2)`,
    [inventory, 'ansible_connection: local\nansible_python_interpreter: "{{ ansible_playbook_python }}"']);
});

const update = async (project: number) => runInProcess(t, await launchProjectUpdate(t.pool, project));
const project = async (cols: Record<string, unknown>) => (await t.pool.query(
  `INSERT INTO projects (name, organization_id, scm_type, scm_url, local_path, credential_id) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
  [cols.name, org, cols.scm_type, cols.scm_url, cols.local_path, cols.credential_id ?? null])).rows[0].id as number;
const checkout = async (id: number) => projectDir(t.dataDir, (await t.pool.query('SELECT id, name, local_path FROM projects WHERE id = $1', [id])).rows[0]);
async function jobSays(projectId: number, file: string): Promise<string> {
  const template = await insertJobTemplate(t.pool, { name: `Run ${Math.random()}`, organization_id: org, project_id: projectId, inventory_id: inventory, playbook: file });
  const job = await runInProcess(t, await launchJobTemplate(t.pool, template));
  expect(job.status, job.job_explanation).toBe('successful');
  return (await pushedEvents(t, 'job_id', job.id)).find((e) => e.event === 'runner_on_ok')?.event_data.res.msg;
}

describe('svn projects', () => {
  let repoUrl = '';
  let id: number;

  beforeAll(() => {
    const repo = path.join(t.dataDir, 'svnrepo');
    execFileSync('svnadmin', ['create', repo]);
    repoUrl = `file://${repo}`;
    const work = path.join(t.dataDir, 'svnwork');
    execFileSync('svn', ['checkout', '--quiet', repoUrl, work]);
    fs.writeFileSync(path.join(work, 'site.yml'), playbook('svn revision one'));
    execFileSync('svn', ['add', '--quiet', 'site.yml'], { cwd: work });
    execFileSync('svn', ['commit', '--quiet', '-m', 'one'], { cwd: work });
    fs.writeFileSync(path.join(work, 'site.yml'), playbook('svn revision two'));
    execFileSync('svn', ['commit', '--quiet', '-m', 'two'], { cwd: work });
  });

  it('checks out the head revision, records it, and a job runs its playbook', async () => {
    id = await project({ name: 'SVN', scm_type: 'svn', scm_url: repoUrl, local_path: 'svn_p' });
    const u = await update(id);
    expect(u.status, u.job_explanation).toBe('successful');
    const { rows: [p] } = await t.pool.query('SELECT scm_revision, playbook_files FROM projects WHERE id = $1', [id]);
    expect(p.scm_revision).toBe('2');
    expect(p.playbook_files).toEqual(['site.yml']);
    expect(fs.existsSync(path.join(await checkout(id), '.svn'))).toBe(true);
    expect(await jobSays(id, 'site.yml')).toBe('svn revision two');
  });

  it('takes scm_branch as the revision, and scm_clean reverts local changes and removes unversioned files', async () => {
    await t.pool.query(`UPDATE projects SET scm_branch = '1' WHERE id = $1`, [id]);
    expect((await update(id)).status).toBe('successful');
    const dir = await checkout(id);
    expect((await t.pool.query('SELECT scm_revision FROM projects WHERE id = $1', [id])).rows[0].scm_revision).toBe('1');
    expect(fs.readFileSync(path.join(dir, 'site.yml'), 'utf8')).toContain('svn revision one');
    await t.pool.query(`UPDATE projects SET scm_branch = '' WHERE id = $1`, [id]);
    fs.writeFileSync(path.join(dir, 'site.yml'), playbook('edited in place'));
    fs.writeFileSync(path.join(dir, 'stray.yml'), playbook('stray'));
    // Without scm_clean the local edit survives the update (svn merges it), as AWX's force: false.
    expect((await update(id)).status).toBe('successful');
    expect(fs.existsSync(path.join(dir, 'stray.yml'))).toBe(true);
    await t.pool.query('UPDATE projects SET scm_clean = true WHERE id = $1', [id]);
    expect((await update(id)).status).toBe('successful');
    expect(fs.readFileSync(path.join(dir, 'site.yml'), 'utf8')).toContain('svn revision two');
    expect(fs.existsSync(path.join(dir, 'stray.yml'))).toBe(false);
  });

  it('scm_delete_on_update starts from an empty directory', async () => {
    const dir = await checkout(id);
    fs.writeFileSync(path.join(dir, 'left-over.txt'), 'x');
    await t.pool.query('UPDATE projects SET scm_clean = false, scm_delete_on_update = true WHERE id = $1', [id]);
    const u = await update(id);
    expect(u.status).toBe('successful');
    expect(fs.existsSync(path.join(dir, 'left-over.txt'))).toBe(false);
    const tasks = (await pushedEvents(t, 'project_update_id', u.id)).filter((e) => e.event === 'runner_on_ok').map((e) => e.event_data.task);
    expect(tasks.slice(0, 2)).toEqual(['Delete project directory', 'Check out project using svn']);
  });

  it('authenticates to svnserve with the credential, its password on svn\'s stdin and never in the output', async () => {
    const root = path.join(t.dataDir, 'svnserve');
    fs.mkdirSync(root, { recursive: true });
    execFileSync('svnadmin', ['create', path.join(root, 'guarded')]);
    const password = 'svn-pw-' + Math.random().toString(36).slice(2);
    fs.writeFileSync(path.join(root, 'guarded', 'conf', 'svnserve.conf'), '[general]\nanon-access = none\nauth-access = write\npassword-db = passwd\n');
    fs.writeFileSync(path.join(root, 'guarded', 'conf', 'passwd'), `[users]\nsvnuser = ${password}\n`);
    execFileSync('svn', ['mkdir', '--quiet', '-m', 'init', `file://${root}/guarded/playbooks`]);
    const port = await freePort();
    const server: ChildProcess = spawn('svnserve', ['--daemon', '--foreground', '--listen-host', '127.0.0.1', '--listen-port', String(port), '-r', root], { stdio: 'ignore' });
    try {
      await waitForPort(port);
      const type = (await t.pool.query(`SELECT id FROM credential_types WHERE kind = 'scm'`)).rows[0].id;
      const cred = await insertCredential(t.pool, t.secrets, { name: 'svn', organization_id: org, credential_type_id: type, inputs: { username: 'svnuser', password } });
      const url = `svn://127.0.0.1:${port}/guarded/playbooks`;
      const refused = await update(await project({ name: 'SVN anon', scm_type: 'svn', scm_url: url, local_path: 'svn_anon' }));
      expect(refused.status).toBe('failed');
      expect(refused.job_explanation).toMatch(/Can't get username or password|[Aa]uthori[sz]ation failed/);
      const guarded = await project({ name: 'SVN auth', scm_type: 'svn', scm_url: url, local_path: 'svn_auth', credential_id: cred });
      const ok = await update(guarded);
      expect(ok.status, ok.job_explanation).toBe('successful');
      expect((await t.pool.query('SELECT scm_revision FROM projects WHERE id = $1', [guarded])).rows[0].scm_revision).toBe('1');
      expect(JSON.stringify(await pushedEvents(t, 'project_update_id', ok.id))).not.toContain(password);
      expect(JSON.stringify((await t.pool.query('SELECT * FROM unified_jobs WHERE id = $1', [ok.id])).rows[0])).not.toContain(password);
    } finally {
      await stopChild(server, 'SIGTERM', 5_000);
    }
  });

  it('fails an update of a revision the repository does not have, with svn\'s reason', async () => {
    await t.pool.query(`UPDATE projects SET scm_branch = '99' WHERE id = $1`, [id]);
    const u = await update(id);
    expect(u.status).toBe('failed');
    expect(u.job_explanation).toMatch(/No such revision 99/);
    await t.pool.query(`UPDATE projects SET scm_branch = '' WHERE id = $1`, [id]);
  });
});

describe('archive projects', () => {
  let server: http.Server;
  let base = '';
  const PASSWORD = 'arch-' + Math.random().toString(36).slice(2);
  const served = new Map<string, Buffer>();
  let credential: number;
  let id: number;

  const tarball = (name: string, files: Record<string, string>, top = 'proj-1.0') => {
    const src = path.join(t.dataDir, 'archive-src', name);
    fs.rmSync(src, { recursive: true, force: true });
    for (const [f, content] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(src, top, f)), { recursive: true });
      fs.writeFileSync(path.join(src, top, f), content);
    }
    execFileSync('tar', ['-czf', path.join(src, 'out.tgz'), '-C', src, top]);
    served.set(`/${name}`, fs.readFileSync(path.join(src, 'out.tgz')));
  };

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.headers.authorization !== `Basic ${Buffer.from(`fetch:${PASSWORD}`).toString('base64')}`) {
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="files"' }).end();
        return;
      }
      if (req.url === '/moved.tgz') { res.writeHead(302, { Location: '/v1.tgz' }).end(); return; }
      const body = served.get(req.url ?? '');
      if (!body) { res.writeHead(404).end(); return; }
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' }).end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    const type = (await t.pool.query(`SELECT id FROM credential_types WHERE kind = 'scm'`)).rows[0].id;
    credential = await insertCredential(t.pool, t.secrets, { name: 'files', organization_id: org, credential_type_id: type, inputs: { username: 'fetch', password: PASSWORD } });
  });
  afterAll(async () => { await new Promise((r) => server?.close(r)); });

  it('downloads with the credential (following a redirect), strips the top directory, records the sha1, and a job runs it', async () => {
    tarball('v1.tgz', { 'site.yml': playbook('archive one'), 'roles/README': 'x' });
    id = await project({ name: 'Archive', scm_type: 'archive', scm_url: `${base}/moved.tgz`, local_path: 'arch_p', credential_id: credential });
    const u = await update(id);
    expect(u.status, u.job_explanation).toBe('successful');
    const dir = await checkout(id);
    expect(fs.readdirSync(dir).sort()).toEqual(['roles', 'site.yml']);
    const { rows: [p] } = await t.pool.query('SELECT scm_revision, playbook_files FROM projects WHERE id = $1', [id]);
    expect(p.scm_revision).toBe(createHash('sha1').update(served.get('/v1.tgz')!).digest('hex'));
    expect(p.playbook_files).toEqual(['site.yml']);
    expect(await jobSays(id, 'site.yml')).toBe('archive one');
    // The password never shows in the update's output.
    expect(JSON.stringify(await pushedEvents(t, 'project_update_id', u.id))).not.toContain(PASSWORD);
  });

  it('keeps files the directory holds unless scm_clean, as AWX unpacks, and reads zip archives', async () => {
    tarball('v2.tgz', { 'site.yml': playbook('archive two'), 'new.yml': playbook('new file') });
    await t.pool.query('UPDATE projects SET scm_url = $2 WHERE id = $1', [id, `${base}/v2.tgz`]);
    expect((await update(id)).status).toBe('successful');
    const dir = await checkout(id);
    expect(fs.readFileSync(path.join(dir, 'site.yml'), 'utf8')).toContain('archive one');
    expect(fs.existsSync(path.join(dir, 'new.yml'))).toBe(true);
    await t.pool.query('UPDATE projects SET scm_clean = true WHERE id = $1', [id]);
    expect((await update(id)).status).toBe('successful');
    expect(await jobSays(id, 'site.yml')).toBe('archive two');

    const zipSrc = path.join(t.dataDir, 'archive-src', 'zip');
    fs.mkdirSync(path.join(zipSrc, 'pkg'), { recursive: true });
    fs.writeFileSync(path.join(zipSrc, 'pkg', 'site.yml'), playbook('archive zip'));
    execFileSync('python3', ['-m', 'zipfile', '-c', path.join(zipSrc, 'p.zip'), 'pkg'], { cwd: zipSrc });
    served.set('/p.zip', fs.readFileSync(path.join(zipSrc, 'p.zip')));
    await t.pool.query('UPDATE projects SET scm_url = $2, scm_delete_on_update = true WHERE id = $1', [id, `${base}/p.zip`]);
    expect((await update(id)).status).toBe('successful');
    expect(fs.readdirSync(dir)).toEqual(['site.yml']);
    expect(await jobSays(id, 'site.yml')).toBe('archive zip');
  });

  it('refuses a download without the credential and names names that leave the archive nowhere', async () => {
    const anonymous = await project({ name: 'Anon', scm_type: 'archive', scm_url: `${base}/v1.tgz`, local_path: 'arch_anon' });
    const u = await update(anonymous);
    expect(u.status).toBe('failed');
    expect(u.job_explanation).toContain('HTTP Error 401');
    // An archive whose members climb out with "../" writes nothing outside the checkout.
    const evil = path.join(t.dataDir, 'archive-src', 'evil');
    fs.mkdirSync(evil, { recursive: true });
    execFileSync('python3', ['-c', `import tarfile, io
t = tarfile.open('${evil}/evil.tgz', 'w:gz')
for name in ['../../escaped.txt', 'site.yml']:
    data = b'x'
    info = tarfile.TarInfo(name); info.size = len(data); t.addfile(info, io.BytesIO(data))
t.close()`]);
    served.set('/evil.tgz', fs.readFileSync(path.join(evil, 'evil.tgz')));
    const bad = await project({ name: 'Evil', scm_type: 'archive', scm_url: `${base}/evil.tgz`, local_path: 'arch_evil', credential_id: credential });
    await update(bad);
    const dir = await checkout(bad);
    for (const p of [path.join(dir, '..', 'escaped.txt'), path.join(dir, '..', '..', 'escaped.txt'), path.join(t.dataDir, 'escaped.txt')]) {
      expect(fs.existsSync(p), p).toBe(false);
    }
  });
});
