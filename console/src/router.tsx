import { signal } from '@preact/signals';
import type { ComponentChildren } from 'preact';

/**
 * History-API routing: the server answers every non-API path with index.html, so deep
 * links (`/jobs/42/output`) load straight into their page.
 */
export const location = signal(window.location.pathname + window.location.search);

window.addEventListener('popstate', () => { location.value = window.location.pathname + window.location.search; });

export function navigate(to: string, replace = false): void {
  if (to === location.value) return;
  if (replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  location.value = to;
  window.scrollTo(0, 0);
}

export function currentPath(): string { return location.value.split('?')[0]; }

export function currentQuery(): URLSearchParams { return new URLSearchParams(location.value.split('?')[1] ?? ''); }

/** Matches `/jobs/:id/output` against a path; undefined when it does not match. */
export function matchRoute(pattern: string, path: string): Record<string, string> | undefined {
  const p = pattern.split('/').filter(Boolean);
  const a = path.split('/').filter(Boolean);
  if (p.length !== a.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i].startsWith(':')) params[p[i].slice(1)] = decodeURIComponent(a[i]);
    else if (p[i] !== a[i]) return undefined;
  }
  return params;
}

export function Link(props: { href: string; children: ComponentChildren; class?: string; title?: string; 'data-testid'?: string }) {
  const { href, children, ...rest } = props;
  return (
    <a {...rest} href={href} onClick={(e) => {
      if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
      e.preventDefault();
      navigate(href);
    }}>{children}</a>
  );
}
