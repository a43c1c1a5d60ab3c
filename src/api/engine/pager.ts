import { badRequest, HttpError, type ApiRequest } from '../http.js';
import type { Row } from './resource.js';

/**
 * The one pager of every API list (resources, sub-lists, job events): AWX's
 * `?page=&page_size=` (default 25, at most 200) and `{count, next, previous, results}`.
 *
 * `next` is decided by the page query itself, which asks for one row more than the page:
 * it never depends on `count`, so a list whose count is capped (docs/api.md) still pages
 * to its end. A page past the end is AWX's 404 `Invalid page.`; page 1 of an empty list
 * is an empty page.
 */
export const DEFAULT_PAGE_SIZE = 25;
export const MAX_PAGE_SIZE = 200;
/** Deepest offset served (AWX has no limit; this bounds the OFFSET a request can ask for: page 40,000 of 25). */
export const MAX_OFFSET = 1_000_000;

export interface PageWindow {
  page: number;
  pageSize: number;
  /** Rows before this page. */
  offset: number;
}

function positiveInt(raw: string | null, name: string, fallback: number): number {
  if (raw == null || raw === '') return fallback;
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < 1) throw badRequest({ detail: `Invalid ${name}: ${JSON.stringify(raw)}.` });
  return Number(raw);
}

export function pageWindow(query: URLSearchParams): PageWindow {
  const pageSize = Math.min(positiveInt(query.get('page_size'), 'page_size', DEFAULT_PAGE_SIZE), MAX_PAGE_SIZE);
  const page = positiveInt(query.get('page'), 'page', 1);
  const offset = (page - 1) * pageSize;
  if (offset > MAX_OFFSET) throw invalidPage();
  return { page, pageSize, offset };
}

export const invalidPage = () => new HttpError(404, { detail: 'Invalid page.' });

/**
 * The page object: `results` are the page's objects, `hasNext` whether the page query found
 * a row past them (it asks for pageSize + 1), `count` the list's total as the caller counted it.
 */
export function pageBody(req: ApiRequest, w: PageWindow, count: number, results: Row[], hasNext: boolean): Row {
  if (!results.length && w.page > 1) throw invalidPage();
  const link = (p: number) => {
    const q = new URLSearchParams(req.query);
    q.set('page', String(p));
    return `${req.path}?${q.toString()}`;
  };
  return {
    count,
    next: hasNext ? link(w.page + 1) : null,
    previous: w.page > 1 ? link(w.page - 1) : null,
    results,
  };
}
