import { jobKinds, type JobKindInfo } from '../../db/job-kinds.js';
import { streamStdout } from '../../pipeline/stdout-stream.js';
import type { ApiContext } from '../context.js';
import { type ApiRequest, badRequest, type Reply, type Router, type StreamWriter } from '../http.js';
import { loadReadableJob } from './job-events.js';

/**
 * GET /api/v2/<kind>/N/stdout/?format=txt|ansi|json|txt_download|ansi_download
 * [&start_line=&end_line=]: the job's output, streamed from Postgres with backpressure
 * (pipeline/stdout-stream.ts). json is AWX's {"range": {start, end, absolute_end},
 * "content"}; its content is streamed too, the range written after it.
 */
const FORMATS = ['txt', 'ansi', 'json', 'txt_download', 'ansi_download'];

function lineParam(req: ApiRequest, name: string): number | null {
  const raw = req.query.get(name);
  if (raw === null || raw === '') return null;
  if (!/^-?\d+$/.test(raw)) throw badRequest({ [name]: ['A valid integer is required.'] });
  return Number(raw);
}

function writer(out: StreamWriter) {
  return async (chunk: string) => {
    if (out.aborted) throw new Error('client went away');
    if (!out.write(chunk)) await out.drained();
  };
}

function stdoutHandler(kind: JobKindInfo) {
  return async (req: ApiRequest, ctx: ApiContext): Promise<Reply> => {
    const job = await loadReadableJob(req, ctx, kind);
    const format = req.query.get('format') ?? 'txt';
    if (!FORMATS.includes(format)) throw badRequest({ detail: `Unsupported format: ${format}` });
    const startLine = lineParam(req, 'start_line') ?? 0;
    const endLine = lineParam(req, 'end_line');
    const q = { table: kind.eventTable, jobId: job.id, jobCreated: job.createdIso, startLine, endLine, stripAnsi: format.startsWith('txt') };
    if (format === 'json') {
      return { status: 200, headers: { 'content-type': 'application/json' }, stream: async (out) => {
        const write = writer(out);
        await write('{"content": "');
        const range = await streamStdout(ctx.pool, { ...q, stripAnsi: false }, (chunk) => write(JSON.stringify(chunk).slice(1, -1)));
        await write(`", "range": ${JSON.stringify({ start: range.start, end: range.end, absolute_end: range.absoluteEnd })}}`);
      } };
    }
    const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
    if (format.endsWith('_download')) headers['content-disposition'] = `attachment; filename="${kind.kind}_${job.id}.txt"`;
    return { status: 200, headers, stream: async (out) => { await streamStdout(ctx.pool, q, writer(out)); } };
  };
}

export function registerStdout(router: Router<ApiContext>): void {
  for (const kind of Object.values(jobKinds)) router.get(`/api/v2/${kind.apiPath}/:id/stdout/`, stdoutHandler(kind));
}
