import { requireLinks, type Grants } from '../access.js';
import { defineResource, type Queryable } from '../engine/resource.js';
import { badRequest, HttpError } from '../http.js';
import { fk, named, ro, text } from './common.js';

/**
 * Execution environments (AWX's ExecutionEnvironment and ExecutionEnvironmentAccess).
 * The managed global one, seeded by migration 1200 with no image, is the host sandbox every
 * job ran in before EEs existed; it cannot be changed or deleted. Every other EE names a
 * container image: it can be made, linked and resolved for a job, and the job then errors at
 * start because no container runtime works here (scheduler/execution-environment.ts).
 *
 * Reading: a global EE is read by everyone, an organization's by anyone holding a role in
 * it. Creating, changing and deleting: the organization's execution_environment_admin_role
 * (or admin_role); global ones, superusers only. A registry credential given to an EE needs
 * `use` of it (stricter than AWX, which checks only the organization: the EE lends the
 * credential to whoever pulls with it).
 */
const IMAGE = /^[A-Za-z0-9][A-Za-z0-9._\-/:@]*$/;

/**
 * Throws unless the caller may read execution environment `id` (AWX's check_related with
 * read_role on links to an EE). A link left as it is (`current`) is not checked again.
 */
export async function requireEnvironmentRead(db: Queryable, grants: Grants, field: string, id: unknown, current?: unknown): Promise<void> {
  if (id == null || (current != null && Number(current) === Number(id))) return;
  const { rows: [ee] } = await db.query<{ org: string | null }>('SELECT organization_id AS org FROM execution_environments WHERE id = $1', [id]);
  if (!ee) throw badRequest({ [field]: [`Invalid pk "${id}" - object does not exist.`] });
  if (grants.readsAll || ee.org == null || grants.memberOrgs().includes(Number(ee.org))) return;
  throw new HttpError(403, { detail: `You do not have read permission on the execution environment ${id} (${field}).` });
}

export const executionEnvironments = defineResource({
  key: 'execution_environments', type: 'execution_environment', table: 'execution_environments',
  fields: {
    ...named,
    organization: fk('organizations'),
    image: text({ maxLength: 1024 }),
    managed: ro('bool'),
    credential: fk('credentials'),
    pull: text({ choices: ['', 'always', 'missing', 'never'], default: '' }),
  },
  search: ['name', 'description', 'image'],
  defaultOrder: 'name',
  access: {
    roleType: 'execution_environment',
    readSql: (g, p) => `(t.organization_id IS NULL OR t.organization_id = ANY(${p.push(g.memberOrgs())}::bigint[]))`,
    canCreate: (_ctx, g, d) => d.organization != null && g.orgs('execution_environment', 'admin').includes(Number(d.organization)),
  },
  prepare: async (ctx, db, data, existing, caller) => {
    if (existing?.managed) throw new HttpError(403, { detail: 'The managed execution environment (the host sandbox) cannot be changed.' });
    if (!existing && !data.image) throw badRequest({ image: ['This field is required.'] });
    if (data.image !== undefined && (typeof data.image !== 'string' || !IMAGE.test(data.image))) {
      throw badRequest({ image: ['Enter a container image location: registry/name:tag, without spaces.'] });
    }
    if (existing && data.organization !== undefined && data.organization !== existing.organization) {
      // AWX's serializer: never to another organization; to none (global), superusers only (ExecutionEnvironmentAccess.can_change).
      if (data.organization != null) throw badRequest({ organization: ['Cannot change the organization of an execution environment'] });
      if (!caller.grants.superuser) throw new HttpError(403, { detail: 'Only a superuser can make an execution environment global.' });
    }
    if (data.credential != null) {
      const { rows: [c] } = await db.query<{ kind: string }>(
        'SELECT ct.kind FROM credentials c JOIN credential_types ct ON ct.id = c.credential_type_id WHERE c.id = $1', [data.credential]);
      if (c && c.kind !== 'registry') throw badRequest({ credential: ['Only Container Registry credentials can be associated with an Execution Environment'] });
    }
    await requireLinks(ctx.pool, caller.grants, 'execution_environment', data, existing);
    return data;
  },
  beforeDelete: async (_ctx, _db, row) => {
    if (row.managed) throw new HttpError(403, { detail: 'The managed execution environment (the host sandbox) cannot be deleted.' });
  },
});
