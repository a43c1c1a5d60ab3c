import { signal } from '@preact/signals';
import { ApiError, get, type Page, post, readCookie, request, setUnauthorizedHandler } from './api.js';

/** Who is logged in (undefined while unknown, null when nobody). */
export interface Me { id: number; username: string; is_superuser: boolean; is_system_auditor: boolean; first_name?: string; last_name?: string }

export const me = signal<Me | null | undefined>(undefined);

setUnauthorizedHandler(() => { me.value = null; });

export async function loadMe(): Promise<void> {
  // AWX's hint that a session was opened (routes/login.ts): without it there is none to ask about.
  if (readCookie('userLoggedIn') !== 'true') { me.value = null; return; }
  try {
    const page = await get<Page<Me>>('/api/v2/me/');
    me.value = page.results[0] ?? null;
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) me.value = null;
    else throw err;
  }
}

/**
 * Django's login dance, as AWX's UI does it: GET /api/login/ sets the `csrftoken` cookie,
 * then a form POST with X-CSRFToken sets `sessionid`.
 */
export async function login(username: string, password: string): Promise<void> {
  await request('GET', '/api/login/', undefined, { headers: { accept: 'text/html,application/json' } }).catch(() => undefined);
  await request('POST', '/api/login/', new URLSearchParams({ username, password, next: '/api/' }), { redirect: 'manual' })
    .catch((err: unknown) => {
      // A redirect to `next` is success (opaque with redirect: manual); anything 4xx is not.
      if (err instanceof ApiError && err.status >= 400) throw err;
    });
  await loadMe();
  if (!me.value) throw new Error('Invalid username or password.');
}

export async function logout(): Promise<void> {
  await post('/api/logout/').catch(() => get('/api/logout/').catch(() => undefined));
  me.value = null;
}

export const isAdmin = () => !!me.value?.is_superuser;
