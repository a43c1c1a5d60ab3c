import crypto from 'node:crypto';
import pg from 'pg';
import { PlaystreamError } from '../errors.js';

/**
 * Dispatcher control, like AWX's `awx-manage run_dispatcher --status/--running/--reload`:
 * the CLI NOTIFYs `playstream_control_<node>` with {command, reply, uuid?} and LISTENs on
 * its own reply channel; the node's dispatcher answers there with JSON.
 */
export const CONTROL_COMMANDS = ['status', 'running', 'reload', 'cancel'] as const;
export type ControlCommand = (typeof CONTROL_COMMANDS)[number];

export function controlChannel(node: string): string {
  return `playstream_control_${node}`;
}

export async function sendControl(databaseUrl: string, node: string, command: ControlCommand, uuid?: string,
  timeoutMs = 5000): Promise<unknown> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'dispatcher-control' });
  client.on('error', () => {});
  await client.connect();
  const reply = `playstream_reply_${crypto.randomBytes(6).toString('hex')}`;
  try {
    await client.query(`LISTEN ${reply}`);
    const answer = new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => reject(new PlaystreamError('PS_ERR_DISPATCHER',
        `no dispatcher answered on node ${node} within ${timeoutMs} ms`)), timeoutMs);
      client.on('notification', (n) => {
        if (n.channel !== reply) return;
        clearTimeout(timer);
        resolve(JSON.parse(n.payload ?? 'null'));
      });
    });
    await client.query('SELECT pg_notify($1, $2)', [controlChannel(node), JSON.stringify({ command, reply, uuid })]);
    return await answer;
  } finally {
    await client.end().catch(() => {});
  }
}
