import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildRouter } from '../../src/api/server.js';
import { AWX_FIELDS_DOC, renderAwxFieldsDoc } from '../../scripts/awx-fields-doc.js';
import { resourceByKey } from '../../src/api/engine/resource.js';
import { launchInventoryUpdate, launchJobTemplate } from '../../src/scheduler/launch.js';
import { useSeededWeb, type ApiCall } from '../support/web.js';
import type { TestEnv } from '../support/harness.js';
import { syncedProjectAndInventory, pushedEvents, runInProcess } from '../scheduler/support.js';

/**
 * No AWX field is silently dropped. awx-writable-fields.json lists, per resource, the fields
 * AWX's serializers (awx/api/serializers.py) accept on a write; each is either a writable
 * field of Playstream's resource or in its `unsupported` list, which answers a value with a
 * 400 naming the field. Then two that were dropped: a template's `force_handlers` (now run),
 * and an instance group's container-group fields (now refused).
 */
const AWX_WRITABLE: Record<string, string[]> = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, 'awx-writable-fields.json'), 'utf8'));

let t: TestEnv;
let api: ApiCall;
let org: number;
let project: number;
let inventory: number;

beforeAll(async () => {
  ({ t, api } = await useSeededWeb());
  org = (await api('POST', '/api/v2/organizations/', { name: 'Fields Org' })).json.id;
  ({ project, inventory } = await syncedProjectAndInventory(t, org, {
    'handlers.yml': '- hosts: all\n  gather_facts: false\n  tasks:\n    - command: /bin/true\n      changed_when: true\n      notify: announce\n'
      + '    - fail:\n        msg: stop here\n  handlers:\n    - name: announce\n      debug:\n        msg: "the handler ran"\n',
    'three-hosts.ini': 'new-1\nnew-2\nnew-3\n',
  }));
});

describe('AWX fields on writes', () => {
  it('every field AWX accepts is implemented or refused by name', () => {
    buildRouter();
    const dropped: string[] = [];
    for (const [key, fields] of Object.entries(AWX_WRITABLE)) {
      const def = resourceByKey(key);
      expect(def, key).toBeDefined();
      for (const f of fields) if (!def!.fields[f]?.writable && !def!.unsupported?.[f]) dropped.push(`${key}.${f}`);
    }
    expect(dropped).toEqual([]);
  });

  it('docs/awx-fields.md is what the resource definitions say (regenerate: npx vite-node scripts/awx-fields-doc.ts)', () => {
    expect(fs.readFileSync(AWX_FIELDS_DOC, 'utf8')).toBe(renderAwxFieldsDoc());
  });

  it('an instance group refuses the container-group fields it cannot honour, and keeps their defaults', async () => {
    for (const [field, value] of [['is_container_group', true], ['pod_spec_override', 'apiVersion: v1\nkind: Pod\n'], ['credential', 1]] as const) {
      const r = await api('POST', '/api/v2/instance_groups/', { name: `ig-${field}`, [field]: value });
      expect(r.status, field).toBe(400);
      expect(r.json[field][0], field).toMatch(/^Playstream does not support this field: container groups/);
    }
    expect((await t.pool.query(`SELECT count(*)::int AS n FROM instance_groups WHERE name LIKE 'ig-%'`)).rows[0].n).toBe(0);
    const plain = await api('POST', '/api/v2/instance_groups/', { name: 'ig-plain', is_container_group: false, pod_spec_override: '', credential: null });
    expect(plain.status).toBe(201);
    expect(plain.json.is_container_group).toBe(false);
  });

  it('force_handlers: the template stores it, its job runs notified handlers after a failure', async () => {
    const output = async (forceHandlers: boolean) => {
      const jt = await api('POST', '/api/v2/job_templates/', { name: `handlers ${forceHandlers}`, organization: org, project, inventory,
        playbook: 'handlers.yml', force_handlers: forceHandlers });
      expect(jt.status, JSON.stringify(jt.json)).toBe(201);
      expect(jt.json.force_handlers).toBe(forceHandlers);
      const job = await runInProcess(t, await launchJobTemplate(t.pool, jt.json.id));
      expect(job.status).toBe('failed');
      expect(job.force_handlers).toBe(forceHandlers);
      return (await pushedEvents(t, 'job_id', job.id)).map((e) => e.stdout ?? '').join('\n');
    };
    expect(await output(true)).toContain('the handler ran');
    expect(await output(false)).not.toContain('the handler ran');
  });

  it("an organization's max_hosts holds for the API's host create and for inventory syncs, counting names once", async () => {
    expect((await api('PATCH', `/api/v2/organizations/${org}/`, { max_hosts: 3 })).status).toBe(200);
    // The inventory has localhost already: two more fit.
    for (const name of ['h1', 'h2']) expect((await api('POST', '/api/v2/hosts/', { name, inventory })).status).toBe(201);
    const over = await api('POST', '/api/v2/hosts/', { name: 'h3', inventory });
    expect(over.status).toBe(403);
    expect(over.json.detail).toMatch(/maximum number of 3 hosts allowed for your organization/);
    // A name the organization has already counts once.
    const second = (await api('POST', '/api/v2/inventories/', { name: 'Second', organization: org })).json.id;
    expect((await api('POST', '/api/v2/hosts/', { name: 'h1', inventory: second })).status).toBe(201);
    // A sync that would pass the limit imports nothing and fails saying why.
    const synced = (await api('POST', '/api/v2/inventories/', { name: 'Synced', organization: org })).json.id;
    const source = (await t.pool.query(`INSERT INTO inventory_sources (name, inventory_id, source, source_path, source_project_id)
      VALUES ('file', $1, 'scm', 'three-hosts.ini', $2) RETURNING id`, [synced, project])).rows[0].id;
    const update = await runInProcess(t, await launchInventoryUpdate(t.pool, source));
    expect(update.status).toBe('failed');
    expect(update.job_explanation).toMatch(/maximum number of 3 hosts/);
    expect((await t.pool.query('SELECT count(*)::int AS n FROM hosts WHERE inventory_id = $1', [synced])).rows[0].n).toBe(0);
    expect((await api('PATCH', `/api/v2/organizations/${org}/`, { max_hosts: 0 })).status).toBe(200);
    expect((await runInProcess(t, await launchInventoryUpdate(t.pool, source))).status).toBe('successful');
  });
});

describe('AWX fields on reads', () => {
  it('job lists leave out what AWX list serializers leave out (UnifiedJobListSerializer); the job page keeps it', async () => {
    const { rows } = await t.pool.query(`INSERT INTO unified_jobs (kind, name, result_traceback) VALUES ('job', 'fields-job', 'Traceback: boom') RETURNING id`);
    const id = rows[0].id;
    const detailOnly = ['job_args', 'job_cwd', 'result_traceback', 'event_processing_finished'];
    for (const list of ['/api/v2/jobs/', '/api/v2/unified_jobs/']) {
      const page = (await api('GET', `${list}?id=${id}`)).json;
      expect(page.results.map((r: { id: number }) => r.id), list).toEqual([id]);
      expect(page.results[0].name, list).toBe('fields-job');
      for (const f of detailOnly) expect(page.results[0], `${list} ${f}`).not.toHaveProperty(f);
    }
    const detail = (await api('GET', `/api/v2/jobs/${id}/`)).json;
    expect(detail.result_traceback).toBe('Traceback: boom');
    for (const f of detailOnly) expect(detail, f).toHaveProperty(f);
  });

  it('a job environment stored before its rules is shown with them, and neither it nor job_args can be probed by a filter', async () => {
    const { rows } = await t.pool.query(`INSERT INTO unified_jobs (kind, name, job_env, job_args)
      VALUES ('job', 'old-env', '{"OLD_TOKEN": "t0ken-x", "SITE_URL": "https://u:pw9z@h.example/"}', '["ansible-runner"]') RETURNING id`);
    const env = (await api('GET', `/api/v2/jobs/${rows[0].id}/`)).json.job_env;
    expect(env).toEqual({ OLD_TOKEN: '**********', SITE_URL: 'https://u:**********@h.example/' });
    for (const q of ['job_env__icontains=t0ken', 'job_env=x', 'job_args__icontains=runner', 'order_by=job_args']) {
      const r = await api('GET', `/api/v2/jobs/?${q}`);
      expect(r.status, q).toBe(400);
    }
  });
});
