import type { ApiContext } from '../context.js';
import { badRequest } from '../http.js';
import { parseDrfBoolean, parseDrfFloat, parseDrfInteger } from './drf-values.js';
import { resourceByKey, type ResourceDef, type Row } from './resource.js';

/**
 * Type checks of a write body against the resource's writable fields, values parsed as DRF
 * parses them (drf-values.ts) and errors shaped as DRF shapes them: `{"field": ["message"]}`
 * per bad field, all reported at once. Unknown fields are ignored (as DRF does); read-only
 * ones too. Foreign keys must name an
 * existing object (`Invalid pk "9" - object does not exist.`).
 */
export async function validateWrite(ctx: ApiContext, def: ResourceDef, body: Row, existing: Row | undefined): Promise<Row> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw badRequest({ detail: 'Expected a JSON object.' });
  const errors: Record<string, string[]> = {};
  for (const [name, why] of Object.entries(def.unsupported ?? {})) {
    if (asksFor(body[name])) errors[name] = [`Playstream does not support this field: ${why}.`];
  }
  const out: Row = {};
  for (const [name, f] of Object.entries(def.fields)) {
    if (!f.writable) continue;
    if (!(name in body)) {
      if (!existing && f.required) errors[name] = ['This field is required.'];
      continue;
    }
    let v = body[name];
    if (v === null || v === undefined) {
      if (f.fk && !f.required) { out[name] = null; continue; }
      if (f.type === 'json') { out[name] = null; continue; }
      if (f.nullAs !== undefined) { out[name] = f.nullAs; continue; }
      // awx.awx sends every option it knows, unset ones as null (`enabled`, `kind`, ...); AWX
      // then keeps the stored value, and the module's idempotency depends on that.
      if (!f.required) continue;
      errors[name] = ['This field may not be null.'];
      continue;
    }
    switch (f.type) {
      case 'int':
        v = parseDrfInteger(v);
        if (v === undefined) { errors[name] = ['A valid integer is required.']; continue; }
        break;
      case 'float':
        v = parseDrfFloat(v);
        if (v === undefined) { errors[name] = ['A valid number is required.']; continue; }
        break;
      case 'bool':
        v = parseDrfBoolean(v);
        if (v === undefined) { errors[name] = ['Must be a valid boolean.']; continue; }
        break;
      case 'text':
        if (typeof v === 'number' || typeof v === 'boolean') v = String(v);
        if (typeof v !== 'string') { errors[name] = ['Not a valid string.']; continue; }
        if (f.maxLength && v.length > f.maxLength) { errors[name] = [`Ensure this field has no more than ${f.maxLength} characters.`]; continue; }
        if (f.required && v.trim() === '') { errors[name] = ['This field may not be blank.']; continue; }
        break;
      case 'time':
        if (typeof v !== 'string' || Number.isNaN(Date.parse(v))) { errors[name] = ['Datetime has wrong format.']; continue; }
        break;
      case 'json':
        break;
    }
    if (f.choices && !f.choices.includes(v as string)) {
      errors[name] = [`"${String(v)}" is not a valid choice.`];
      continue;
    }
    out[name] = v;
  }
  for (const [name, f] of Object.entries(def.fields)) {
    if (!f.fk || out[name] == null || errors[name]) continue;
    const target = resourceByKey(f.fk);
    if (!target) continue;
    const { rowCount } = await ctx.pool.query(`SELECT 1 FROM ${target.table} t WHERE t.id = $1${target.where ? ` AND ${target.where}` : ''}`, [out[name]]);
    if (!rowCount) errors[name] = [`Invalid pk "${String(out[name])}" - object does not exist.`];
  }
  if (Object.keys(errors).length) throw badRequest(errors);
  return out;
}

/** A value that asks for something: not null, false, '', 0, an empty list or an empty map (what AWX's defaults are). */
function asksFor(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === '' || v === 0) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return !(typeof v === 'string' && ['false', '0'].includes(v.toLowerCase()));
}
