import type pg from 'pg';
import definitions from './managed-credential-types.json' with { type: 'json' };

/**
 * The credential types Playstream ships (AWX's managed types, by namespace), defined once in
 * managed-credential-types.json: inputs (fields, `secret`, `ask_at_runtime`, `choices`,
 * `default`, `required`, and the `metadata` of external lookup types) and, where AWX defines
 * them as templates, injectors. Types whose injection is code rather than a template (aws, gce,
 * azure_rm, vmware, openstack, kubernetes_bearer_token, terraform) have `injectors: {}` here, as
 * AWX's API shows them, and their injection lives in scheduler/credentials/builtin-injectors.ts.
 *
 * syncManagedCredentialTypes runs after the migrations (as AWX's setup_managed_credential_types
 * at start-up): a type is matched by its namespace, else by (name, kind), and rewritten in place,
 * so ids held by credentials never change and a type added to the JSON appears on next start.
 */
export interface FieldSpec {
  id: string;
  label?: string;
  type?: 'string' | 'boolean';
  secret?: boolean;
  multiline?: boolean;
  ask_at_runtime?: boolean;
  format?: string;
  choices?: string[];
  default?: string | boolean;
}

export interface CredentialTypeInputs { fields?: FieldSpec[]; metadata?: FieldSpec[]; required?: string[]; dependencies?: Record<string, string[]> }
export interface CredentialTypeInjectors { env?: Record<string, string>; extra_vars?: Record<string, unknown>; file?: Record<string, string> }

export interface ManagedCredentialType {
  namespace: string;
  kind: string;
  name: string;
  inputs: CredentialTypeInputs;
  injectors: CredentialTypeInjectors;
}

export const managedCredentialTypes: readonly ManagedCredentialType[] = definitions as ManagedCredentialType[];

export function managedType(namespace: string): ManagedCredentialType | undefined {
  return managedCredentialTypes.find((t) => t.namespace === namespace);
}

export async function syncManagedCredentialTypes(db: Pick<pg.PoolClient, 'query'>): Promise<void> {
  for (const t of managedCredentialTypes) {
    const { rowCount } = await db.query(
      `UPDATE credential_types SET name = $2, kind = $3, inputs = $4, injectors = $5, managed = true,
              modified = CASE WHEN inputs = $4::jsonb AND injectors = $5::jsonb AND name = $2 THEN modified ELSE now() END
        WHERE managed AND namespace = $1`, [t.namespace, t.name, t.kind, t.inputs, t.injectors]);
    if (rowCount) continue;
    await db.query(
      `INSERT INTO credential_types (name, kind, namespace, managed, inputs, injectors) VALUES ($1, $2, $3, true, $4, $5)
       ON CONFLICT (name, kind) DO UPDATE SET namespace = EXCLUDED.namespace, managed = true, inputs = EXCLUDED.inputs,
         injectors = EXCLUDED.injectors, modified = now()`, [t.name, t.kind, t.namespace, t.inputs, t.injectors]);
  }
}
