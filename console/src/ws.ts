import { signal } from '@preact/signals';
import { readCookie } from './api.js';

/**
 * One websocket per tab, speaking AWX's protocol (DESIGN.md §4). Pages register the groups
 * they need; the socket sends their union as one subscription (the server replaces the
 * whole set on each message), and sends it again after every reconnect. Reconnects back
 * off from 500 ms to 10 s with ±25 % jitter, so a restarted web node is not hit by every
 * tab at the same instant. Listeners receive each message with the time it arrived, which
 * the lag dashboard uses for `delivered - created`.
 */
export type Groups = Record<string, (string | number)[]>;
export type WsMessage = Record<string, any> & { group_name?: string };
type Listener = (msg: WsMessage, receivedAt: number) => void;

export const wsState = signal<'connecting' | 'open' | 'closed'>('closed');

const MIN_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 10_000;

class LiveSocket {
  #ws: WebSocket | undefined;
  #subs = new Map<number, Groups>();
  #nextId = 1;
  #listeners = new Set<Listener>();
  #reconnectListeners = new Set<() => void>();
  #joinListeners = new Set<(joined: string[]) => void>();
  #backoff = MIN_BACKOFF_MS;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #sendQueued = false;
  #wanted = false;
  #everOpened = false;
  #lastSent = '';

  /** Adds a set of groups; returns a handle to change or drop them. */
  subscribe(groups: Groups): { update(groups: Groups): void; close(): void } {
    const id = this.#nextId++;
    this.#subs.set(id, groups);
    this.#ensure();
    this.#queueSend();
    return {
      update: (g) => { this.#subs.set(id, g); this.#queueSend(); },
      close: () => { this.#subs.delete(id); this.#queueSend(); },
    };
  }

  onMessage(fn: Listener): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Called after a reconnect: whatever was sent meanwhile is lost and must be fetched. */
  onReconnect(fn: () => void): () => void {
    this.#reconnectListeners.add(fn);
    return () => this.#reconnectListeners.delete(fn);
  }

  /**
   * Called when the server confirms groups newly joined (`groups_joined`, after a subscription
   * change and after every reconnect). What was sent to them before that never came here:
   * a page reads again what they cover, so nothing between its first read and the join is lost.
   */
  onJoined(fn: (joined: string[]) => void): () => void {
    this.#joinListeners.add(fn);
    return () => this.#joinListeners.delete(fn);
  }

  /** Closes the socket for good (logout). */
  stop(): void {
    this.#wanted = false;
    clearTimeout(this.#timer);
    this.#ws?.close();
    this.#ws = undefined;
    this.#everOpened = false;
    wsState.value = 'closed';
  }

  #ensure(): void {
    this.#wanted = true;
    if (this.#ws || this.#timer) return;
    this.#connect();
  }

  #connect(): void {
    this.#timer = undefined;
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${proto}//${location.host}/websocket/`);
    this.#ws = ws;
    wsState.value = 'connecting';
    ws.onopen = () => {
      this.#backoff = MIN_BACKOFF_MS;
      wsState.value = 'open';
      this.#lastSent = '';
      this.#send();
      if (this.#everOpened) for (const fn of this.#reconnectListeners) fn();
      this.#everOpened = true;
    };
    ws.onmessage = (e) => {
      const receivedAt = Date.now();
      let data: unknown;
      try { data = JSON.parse(String(e.data)); } catch { return; }
      // Batched frames (opt-in) are arrays; AWX's are one object per frame.
      const messages = Array.isArray(data) ? data : [data];
      for (const msg of messages) {
        if (!msg || typeof msg !== 'object') continue;
        if ((msg as WsMessage).accept) { this.#lastSent = ''; this.#send(); }
        const joined = (msg as WsMessage).groups_joined;
        if (Array.isArray(joined) && joined.length) for (const fn of this.#joinListeners) fn(joined as string[]);
        for (const fn of this.#listeners) fn(msg as WsMessage, receivedAt);
      }
    };
    ws.onclose = () => {
      if (this.#ws !== ws) return;
      this.#ws = undefined;
      wsState.value = 'closed';
      if (!this.#wanted) return;
      const delay = this.#backoff * (0.75 + Math.random() * 0.5);
      this.#backoff = Math.min(MAX_BACKOFF_MS, this.#backoff * 2);
      this.#timer = setTimeout(() => this.#connect(), delay);
    };
  }

  #queueSend(): void {
    if (this.#sendQueued) return;
    this.#sendQueued = true;
    queueMicrotask(() => { this.#sendQueued = false; this.#send(); });
  }

  #send(): void {
    const ws = this.#ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return;
    const union: Record<string, Set<string | number>> = {};
    for (const g of this.#subs.values()) {
      for (const [k, v] of Object.entries(g)) {
        const set = (union[k] ??= new Set());
        for (const item of v) set.add(item);
      }
    }
    const groups: Groups = {};
    for (const [k, v] of Object.entries(union)) groups[k] = [...v];
    const text = JSON.stringify({ groups, xrftoken: readCookie('csrftoken') ?? '' });
    if (text === this.#lastSent) return;
    this.#lastSent = text;
    ws.send(text);
  }
}

export const liveSocket = new LiveSocket();

/** `job_events-42`, and AWX's bare `job_events` with a `job` field (`project_update` for updates), name a job's events. */
export function isJobEventFor(msg: WsMessage, jobId: number): boolean {
  const g = msg.group_name ?? '';
  if (g === `job_events-${jobId}`) return true;
  if (!g.endsWith('_events') && !g.includes('_events-')) return false;
  return Number(msg.job ?? msg.project_update ?? msg.inventory_update ?? msg.ad_hoc_command ?? msg.system_job ?? msg.job_id) === jobId;
}

/** A status change for a unified job (`jobs-status_changed`, or AWX's `group_name: "jobs"`). */
export function isStatusChange(msg: WsMessage): boolean {
  return typeof msg.unified_job_id === 'number' && typeof msg.status === 'string' && (msg.group_name ?? '').startsWith('jobs');
}
