/**
 * The play, task and recap headers of a job's output known so far, sorted by line, with the
 * level-1 ones (plays, the recap) also on their own: a play's section ends at the next of
 * those, a task's at the next header of any level. Lookups are binary searches, so folding
 * costs O(log h) a section whatever the job's size. Headers come from the segments loaded
 * and from the play index and section-end queries (event-store.ts), never from a walk of
 * the job's lines.
 */
export const enum Kind { Other = 0, Play = 1, Task = 2, Stats = 3, Failed = 4 }

export interface Header { line: number; level: number; counter: number; kind: Kind }

export class HeaderIndex {
  #all: Header[] = [];
  #top: Header[] = [];
  /** Bumped whenever a header is added: the view recomputes hidden ranges only then. */
  version = 0;

  get all(): readonly Header[] { return this.#all; }
  /** How many level-1 headers are held (the play index's cap counts these). */
  get topCount(): number { return this.#top.length; }

  add(h: Header): void {
    if (!insertSorted(this.#all, h)) return;
    if (h.level === 1) insertSorted(this.#top, h);
    this.version++;
  }

  /** The header whose title is line `line`, if known. */
  at(line: number): Header | undefined {
    const h = this.#all[firstAfter(this.#all, line - 1)];
    return h?.line === line ? h : undefined;
  }

  /** The line of the next header at `h`'s level or above: where its section ends. */
  nextLine(h: Header): number | undefined {
    const list = h.level === 1 ? this.#top : this.#all;
    return list[firstAfter(list, h.line)]?.line;
  }

  plays(): Header[] {
    return this.#top.filter((h) => h.kind === Kind.Play);
  }
}

/** Index of the first header whose line is > `line` (headers sorted by line). */
function firstAfter(hs: readonly Header[], line: number): number {
  let lo = 0;
  let hi = hs.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (hs[mid].line <= line) lo = mid + 1; else hi = mid; }
  return lo;
}

/** Inserts in line order; false when a header with that line is already there. */
function insertSorted(hs: Header[], h: Header): boolean {
  const i = firstAfter(hs, h.line - 1);
  if (hs[i]?.line === h.line) return false;
  hs.splice(i, 0, h);
  return true;
}
