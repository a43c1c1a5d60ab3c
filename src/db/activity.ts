import type pg from 'pg';
import { settingOnSql } from './settings.js';

type Row = Record<string, unknown>;
type Queryable = Pick<pg.Pool, 'query'>;

/**
 * The activity stream: one row per change made through the API (create, update, delete,
 * associate, disassociate), written in the same transaction as the change so the stream
 * never shows a change that rolled back, nor misses one that committed. Secret values are
 * masked before they are recorded, in two steps: the resource's own `activityMask` (crud.ts)
 * masks what only it knows to be secret — credential inputs by their type's `secret` fields,
 * a notification's configuration by its type's — and maskChanges then masks, at any depth
 * (the [old, new] pairs of an update included), keys that name a secret and every value
 * that is a ciphertext.
 */
export interface ActivityEntry {
  actorId: number | null;
  operation: 'create' | 'update' | 'delete' | 'associate' | 'disassociate';
  object1: string;
  object1Id: number | null;
  object2?: string;
  object2Id?: number | null;
  relationship?: string;
  changes?: Row;
}

const SECRET_KEYS = /password|secret|token|ssh_key_data|ssh_key_unlock|vault_password|key_data/i;

export function maskChanges(changes: Row): Row {
  return maskValue(changes, false) as Row;
}

function maskValue(v: unknown, secret: boolean): unknown {
  if (Array.isArray(v)) return v.map((x) => maskValue(x, secret));
  if (v && typeof v === 'object' && !(v instanceof Date)) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, maskValue(x, secret || SECRET_KEYS.test(k))]));
  }
  if (typeof v === 'string' && (v.startsWith('$encrypted$') || (secret && v !== ''))) return '$encrypted$';
  if (typeof v === 'number' && secret) return '$encrypted$';
  return v;
}

const STREAM_ON = settingOnSql('ACTIVITY_STREAM_ENABLED', true);

/**
 * Writes one entry unless a superuser turned the stream off (AWX's ACTIVITY_STREAM_ENABLED,
 * default true): the setting is read by the INSERT itself, so honouring it costs no round trip.
 */
export async function recordActivity(db: Queryable, nodeName: string, e: ActivityEntry): Promise<void> {
  await db.query(
    `INSERT INTO activity_stream (actor_id, operation, object1, object1_id, object2, object2_id, object_relationship_type, changes, action_node)
     SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 WHERE ${STREAM_ON}`,
    [e.actorId, e.operation, e.object1, e.object1Id, e.object2 ?? '', e.object2Id ?? null, e.relationship ?? '',
      JSON.stringify(maskChanges(e.changes ?? {})), nodeName]);
}

/**
 * What an inventory sync created and removed, one entry per host or group, written only when
 * ACTIVITY_STREAM_ENABLED_FOR_INVENTORY_SYNC is on (AWX's default: off, since a sync of
 * thousands of hosts would flood the stream) and the stream itself is. One statement.
 */
export async function recordSyncActivity(db: Queryable, nodeName: string, inventoryId: number,
  changed: { operation: 'create' | 'delete'; object1: 'host' | 'group'; id: number; name: string }[]): Promise<number> {
  if (!changed.length) return 0;
  const { rowCount } = await db.query(
    `INSERT INTO activity_stream (actor_id, operation, object1, object1_id, object2, object2_id, object_relationship_type, changes, action_node)
     SELECT NULL, c.operation, c.object1, c.id, '', NULL, '', jsonb_build_object('name', c.name, 'inventory', $2::bigint), $1
       FROM unnest($3::text[], $4::text[], $5::bigint[], $6::text[]) AS c(operation, object1, id, name)
      WHERE ${STREAM_ON} AND ${settingOnSql('ACTIVITY_STREAM_ENABLED_FOR_INVENTORY_SYNC', false)}`,
    [nodeName, inventoryId, changed.map((c) => c.operation), changed.map((c) => c.object1), changed.map((c) => c.id), changed.map((c) => c.name)]);
  return rowCount ?? 0;
}
