import YAML from 'yaml';
import { PlaystreamError } from '../errors.js';

/** Parses AWX-style extra vars (JSON or YAML text, or an object) to an object. */
export function parseVars(value: unknown, what = 'extra_vars'): Record<string, unknown> {
  if (value === undefined || value === null || value === '') return {};
  if (typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  if (typeof value !== 'string') throw new PlaystreamError('PS_ERR_VALIDATION', `${what} must be a mapping`);
  let parsed: unknown;
  try {
    parsed = YAML.parse(value);
  } catch (err) {
    throw new PlaystreamError('PS_ERR_VALIDATION', `${what} is not valid JSON or YAML`, { cause: err });
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new PlaystreamError('PS_ERR_VALIDATION', `${what} must be a mapping`);
  return parsed as Record<string, unknown>;
}
