/**
 * ANSI SGR colours to spans. Ansible prints `ESC[0;32m ok: [h1] ESC[0m` per line, but a
 * failed task's JSON (with -v) is one colour across many lines, so the colour state runs
 * through a whole event's stdout and each line starts with the state the previous one
 * left. Only SGR (`...m`) is rendered; other CSI sequences (cursor moves, `ESC[K`) are
 * dropped, and `\r\n` / lone `\r` are line ends as a terminal would show them.
 */
export interface Span { text: string; cls: string }
export type Line = Span[];

interface State { fg: number; bg: number; bold: boolean; dim: boolean; italic: boolean; underline: boolean; inverse: boolean }

const RESET: State = { fg: -1, bg: -1, bold: false, dim: false, italic: false, underline: false, inverse: false };

// Matches a CSI sequence; group 1 = parameters, group 2 = final byte.
const CSI = /\x1b\[([0-9;?]*)([@-~])/g;

function applySgr(state: State, params: string): State {
  const s = { ...state };
  const codes = params === '' ? [0] : params.split(';').map((p) => Number(p) || 0);
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i];
    if (c === 0) Object.assign(s, RESET);
    else if (c === 1) s.bold = true;
    else if (c === 2) s.dim = true;
    else if (c === 3) s.italic = true;
    else if (c === 4) s.underline = true;
    else if (c === 7) s.inverse = true;
    else if (c === 22) { s.bold = false; s.dim = false; }
    else if (c === 23) s.italic = false;
    else if (c === 24) s.underline = false;
    else if (c === 27) s.inverse = false;
    else if (c >= 30 && c <= 37) s.fg = c - 30;
    else if (c >= 90 && c <= 97) s.fg = c - 90 + 8;
    else if (c === 39) s.fg = -1;
    else if (c >= 40 && c <= 47) s.bg = c - 40;
    else if (c >= 100 && c <= 107) s.bg = c - 100 + 8;
    else if (c === 49) s.bg = -1;
    else if ((c === 38 || c === 48) && codes[i + 1] === 5) {
      // 256-colour: the first 16 map onto our palette classes; the rest fold to the nearest of them.
      const n = codes[i + 2] ?? 0;
      const mapped = n < 16 ? n : fold256(n);
      if (c === 38) s.fg = mapped; else s.bg = mapped;
      i += 2;
    } else if ((c === 38 || c === 48) && codes[i + 1] === 2) {
      const mapped = foldRgb(codes[i + 2] ?? 0, codes[i + 3] ?? 0, codes[i + 4] ?? 0);
      if (c === 38) s.fg = mapped; else s.bg = mapped;
      i += 4;
    }
  }
  return s;
}

function foldRgb(r: number, g: number, b: number): number {
  const bright = Math.max(r, g, b) > 170 ? 8 : 0;
  const bit = (v: number) => (v > 85 ? 1 : 0);
  return bright + (bit(r) | (bit(g) << 1) | (bit(b) << 2));
}

function fold256(n: number): number {
  if (n >= 232) return n > 243 ? 15 : 8; // greyscale ramp
  const i = n - 16;
  return foldRgb(Math.floor(i / 36) * 51, (Math.floor(i / 6) % 6) * 51, (i % 6) * 51);
}

function classOf(s: State): string {
  let fg = s.fg;
  let bg = s.bg;
  if (s.inverse) [fg, bg] = [bg === -1 ? 0 : bg, fg === -1 ? 7 : fg];
  let cls = '';
  if (fg >= 0) cls += ` f${fg}`;
  if (bg >= 0) cls += ` b${bg}`;
  if (s.bold) cls += ' a-b';
  if (s.dim) cls += ' a-d';
  if (s.italic) cls += ' a-i';
  if (s.underline) cls += ' a-u';
  return cls.slice(1);
}

/** Splits a chunk of stdout into lines of coloured spans. */
export function parseAnsi(text: string, state: State = RESET): { lines: Line[]; state: State } {
  const rawLines = text.split(/\r\n|\n|\r/);
  const lines: Line[] = [];
  let st = state;
  for (const raw of rawLines) {
    const line: Line = [];
    let last = 0;
    CSI.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = CSI.exec(raw))) {
      if (m.index > last) line.push({ text: raw.slice(last, m.index), cls: classOf(st) });
      if (m[2] === 'm') st = applySgr(st, m[1]);
      last = CSI.lastIndex;
    }
    if (last < raw.length) line.push({ text: stripControl(raw.slice(last)), cls: classOf(st) });
    lines.push(merge(line));
  }
  return { lines, state: st };
}

/** Removes what is left of escape sequences (a lone ESC, OSC titles) and other C0 controls. */
function stripControl(s: string): string {
  return s.replace(/\x1b\][^\x07]*\x07|[\x00-\x08\x0b-\x1f\x7f]/g, '');
}

function merge(line: Line): Line {
  const out: Line = [];
  for (const span of line) {
    if (!span.text) continue;
    const prev = out[out.length - 1];
    if (prev && prev.cls === span.cls) prev.text += span.text;
    else out.push({ text: stripControl(span.text), cls: span.cls });
  }
  return out;
}

/** An event's stdout as its lines: `end_line - start_line` of them (a trailing empty piece is dropped). */
export function eventLines(stdout: string, count: number): Line[] {
  if (count <= 0) return [];
  const { lines } = parseAnsi(stdout);
  if (lines.length > count) lines.length = count;
  while (lines.length < count) lines.push([]);
  return lines;
}

/** Plain text of a line, for search. */
export function stripAnsi(s: string): string {
  return s.replace(CSI, '');
}
