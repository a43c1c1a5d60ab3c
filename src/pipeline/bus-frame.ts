import { ByteWriter } from './byte-writer.js';

/**
 * The broadcast bus's event frame: one group's websocket messages of one batch, as bytes a
 * web node sends to its clients as they are. A web node reads the header, slices each
 * message out of the payload (no copy, no JSON parse) and queues the slices; it never
 * re-serializes a message, per client or at all (the bus used to carry a JSON object whose
 * messages every web node parsed and stringified back).
 *
 * Layout (little-endian):
 *   0       u8   0x00 (a JSON bus message, broadcast.ts, starts with `{`)
 *   1       u8   version (1)
 *   2       u16  byte length G of the group name
 *   4       G    group name (ASCII: `job_events-42`)
 *   4+G     u32  message count N
 *   8+G     N ×  (i32 counter, u32 byte length L)
 *   8+G+8N  the messages' JSON texts (UTF-8), one after the other, L bytes each
 */
const MAGIC = 0x00;
const VERSION = 1;

export function isEventFrame(payload: Buffer): boolean {
  return payload.length > 1 && payload[0] === MAGIC;
}

/** One group's frame from its messages' JSON texts and counters (same order; sent in this order). */
export function encodeEventFrame(group: string, messages: readonly { counter: number; json: string }[]): Buffer {
  let estimate = 16 + group.length + messages.length * 8;
  for (const m of messages) estimate += m.json.length;
  const w = new ByteWriter(Math.ceil(estimate * 1.1));
  w.u8(MAGIC).u8(VERSION).u16(group.length).ascii(group).u32(messages.length);
  const table = w.reserve(messages.length * 8);
  for (let i = 0; i < messages.length; i++) {
    const before = w.length;
    w.write(messages[i].json);
    w.i32At(table + i * 8, messages[i].counter);
    w.u32At(table + i * 8 + 4, w.length - before);
  }
  return w.bytes();
}

export interface DecodedFrame {
  group: string;
  /** Each message's bytes: views into the payload. */
  messages: Buffer[];
  counters: number[];
}

/** The group of an event frame, read without slicing the messages (to skip groups nobody here watches). */
export function eventFrameGroup(payload: Buffer): string {
  return payload.toString('latin1', 4, 4 + payload.readUInt16LE(2));
}

/** Splits an event frame; throws RangeError on a truncated or foreign payload. */
export function decodeEventFrame(payload: Buffer): DecodedFrame {
  if (payload[0] !== MAGIC || payload[1] !== VERSION) throw new RangeError('not an event frame of version 1');
  const g = payload.readUInt16LE(2);
  const group = payload.toString('latin1', 4, 4 + g);
  const n = payload.readUInt32LE(4 + g);
  let table = 8 + g;
  let at = table + n * 8;
  const messages = new Array<Buffer>(n);
  const counters = new Array<number>(n);
  for (let i = 0; i < n; i++, table += 8) {
    counters[i] = payload.readInt32LE(table);
    const len = payload.readUInt32LE(table + 4);
    if (at + len > payload.length) throw new RangeError('event frame truncated');
    messages[i] = payload.subarray(at, at + len);
    at += len;
  }
  return { group, messages, counters };
}
