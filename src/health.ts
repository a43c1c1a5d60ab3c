import type { ChildProcess } from 'node:child_process';

/**
 * Liveness between `start`'s supervisor and the roles it forks, over their IPC channel.
 *
 * A role that exits is restarted by the supervisor; one stuck in a loop keeps its pid and
 * port and would serve nothing forever. So the supervisor pings each ready role every 5 s
 * and the role answers from its event loop: a loop blocked for 3 pings in a row (15 s, far
 * beyond the longest synchronous step a healthy role takes: a migration or an apt-get runs
 * before 'ready', when no pings are sent) gets SIGKILL and the ordinary restart.
 *
 * Messages: supervisor → role `{ type: 'ping', seq }`; role → supervisor `{ type: 'pong', seq }`.
 */
export const PING_INTERVAL_MS = 5000;
export const MISSED_PINGS_LIMIT = 3;

/** The role's half: answer pings while the event loop turns. */
export function answerHealthPings(): void {
  if (!process.send) return;
  process.on('message', (msg: { type?: string; seq?: number }) => {
    if (msg?.type === 'ping') process.send?.({ type: 'pong', seq: msg.seq }, undefined, undefined, () => {});
  });
}

/**
 * The supervisor's half: pings `child` and calls `onUnresponsive` once when it has missed
 * MISSED_PINGS_LIMIT in a row. Returns the stop function (call it when the child exits).
 */
export function watchHealth(child: ChildProcess, onUnresponsive: (silentMs: number) => void): () => void {
  let seq = 0;
  let answered = 0;
  const onMessage = (msg: { type?: string; seq?: number }) => {
    if (msg?.type === 'pong' && typeof msg.seq === 'number') answered = Math.max(answered, msg.seq);
  };
  child.on('message', onMessage);
  const timer = setInterval(() => {
    if (seq - answered >= MISSED_PINGS_LIMIT) {
      stop();
      onUnresponsive((seq - answered) * PING_INTERVAL_MS);
      return;
    }
    // A callback keeps a closed channel's error out of the 'error' event: the exit handler deals with that.
    child.send({ type: 'ping', seq: ++seq }, undefined, undefined, () => {});
  }, PING_INTERVAL_MS);
  timer.unref();
  const stop = () => {
    clearInterval(timer);
    child.off('message', onMessage);
  };
  return stop;
}
