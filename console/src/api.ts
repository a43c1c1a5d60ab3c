/**
 * The console's HTTP client: same-origin fetch with the session cookie, Django's CSRF
 * header on unsafe methods, AWX's error shapes turned into ApiError, and pages typed as
 * `{count, next, previous, results}`.
 */
export interface Page<T> { count: number; next: string | null; previous: string | null; results: T[] }

export class ApiError extends Error {
  constructor(readonly status: number, readonly body: unknown) {
    super(describeError(status, body));
  }
}

/** AWX answers errors as `{detail}`, a field map `{name: ["msg"]}` or `{__all__: [...]}`. */
export function describeError(status: number, body: unknown): string {
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    if (typeof b.detail === 'string') return b.detail;
    const parts = Object.entries(b).map(([k, v]) => `${k === '__all__' ? '' : `${k}: `}${Array.isArray(v) ? v.join(' ') : String(v)}`);
    if (parts.length) return parts.join('; ');
  }
  if (typeof body === 'string' && body) return body.slice(0, 200);
  return `HTTP ${status}`;
}

export function readCookie(name: string): string | undefined {
  for (const part of document.cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return undefined;
}

/** Called on any 401 so the shell can show the login page. */
let onUnauthorized: () => void = () => {};
export function setUnauthorizedHandler(fn: () => void): void { onUnauthorized = fn; }

export async function request<T = unknown>(method: string, url: string, body?: unknown, init: RequestInit = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...(init.headers as Record<string, string>) };
  if (method !== 'GET' && method !== 'HEAD') {
    const token = readCookie('csrftoken');
    if (token) headers['x-csrftoken'] = token;
  }
  let payload: BodyInit | undefined;
  if (body instanceof URLSearchParams) {
    payload = body;
  } else if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const res = await fetch(url, { ...init, method, headers, body: payload, credentials: 'same-origin' });
  const text = await res.text();
  let data: unknown = text;
  if (text && (res.headers.get('content-type') ?? '').includes('json')) {
    try { data = JSON.parse(text); } catch { /* leave as text */ }
  }
  if (!res.ok) {
    if (res.status === 401 && !url.startsWith('/api/login')) onUnauthorized();
    throw new ApiError(res.status, data);
  }
  return (text ? data : undefined) as T;
}

export const get = <T = unknown>(url: string, init?: RequestInit) => request<T>('GET', url, undefined, init);
export const post = <T = unknown>(url: string, body?: unknown) => request<T>('POST', url, body ?? {});
export const patch = <T = unknown>(url: string, body: unknown) => request<T>('PATCH', url, body);
export const del = (url: string) => request('DELETE', url);

/** Adds query parameters (skipping empty ones) to an API path. */
export function withQuery(url: string, params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${url}${url.includes('?') ? '&' : '?'}${s}` : url;
}

/** Common AWX object shape the generic pages read. */
export interface ApiObject {
  id: number;
  type: string;
  url: string;
  name?: string;
  related?: Record<string, string>;
  summary_fields?: Record<string, any> & { user_capabilities?: Record<string, boolean> };
  created?: string;
  modified?: string;
  [key: string]: any;
}
