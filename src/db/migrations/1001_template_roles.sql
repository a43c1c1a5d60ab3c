-- Where the roles over a unified job template are held, whatever its kind: a job template's,
-- a workflow's and a project's on themselves, an inventory source's on its inventory, a
-- system job template's nowhere (superusers). With the template's organization, for roles
-- held organization-wide. Schedules (src/api/resources/schedules.ts) check their template
-- through it: before, only job templates' and projects' roles counted, so a workflow's
-- executor could neither see nor create its schedules.
CREATE FUNCTION unified_template_role(template_id bigint)
RETURNS TABLE (kind text, role_type text, role_id bigint, org bigint) LANGUAGE sql STABLE AS $$
  SELECT 'job_template', 'job_template', id, organization_id FROM job_templates WHERE id = template_id
  UNION ALL SELECT 'workflow_job_template', 'workflow_job_template', id, organization_id FROM workflow_job_templates WHERE id = template_id
  UNION ALL SELECT 'project', 'project', id, organization_id FROM projects WHERE id = template_id
  UNION ALL SELECT 'inventory_source', 'inventory', s.inventory_id, i.organization_id
              FROM inventory_sources s JOIN inventories i ON i.id = s.inventory_id WHERE s.id = template_id
  UNION ALL SELECT 'system_job_template', 'system_job_template', id, NULL FROM system_job_templates WHERE id = template_id
$$;
