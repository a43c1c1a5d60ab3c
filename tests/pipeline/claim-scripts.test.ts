import { beforeAll, describe, expect, it } from 'vitest';
import { ACK_LUA, CLAIM_LUA } from '../../src/pipeline/claim-scripts.js';
import { type TestEnv, useTestEnv } from '../support/harness.js';

let env: TestEnv;
let n = 0;
const keys = () => {
  const base = `${env.config.redisPrefix}claim-test:${++n}`;
  return { queue: `${base}:queue`, slot: `${base}:slot`, epoch: `${base}:slot:epoch` };
};

beforeAll(async () => {
  env = await useTestEnv();
});

describe('receiver claim and ack scripts', () => {
  it('claims the whole intake list into an empty slot, and never into a non-empty one', async () => {
    const k = keys();
    const claim = (read = 2) => env.redis.eval(CLAIM_LUA, 3, k.queue, k.slot, k.epoch, read) as Promise<(number | string)[]>;
    expect(await claim()).toEqual([0, 0]);
    await env.redis.rpush(k.queue, 'a', 'b', 'c');
    // The claim returns the first items of the slot (at most the number asked for).
    expect(await claim()).toEqual([3, 1, 'a', 'b']);
    expect(await env.redis.exists(k.queue)).toBe(0);
    await env.redis.rpush(k.queue, 'd');
    // A resent claim (its first reply lost) finds the slot full and overwrites nothing.
    expect(await claim()).toEqual([-1, 0]);
    expect(await env.redis.lrange(k.slot, 0, -1)).toEqual(['a', 'b', 'c']);
    expect(await env.redis.lrange(k.queue, 0, -1)).toEqual(['d']);
  });

  it('acks a batch from the slot head exactly once, and never on a later fill of the slot', async () => {
    const k = keys();
    await env.redis.rpush(k.queue, '1', '2', '3', '4', '5');
    const [, epoch] = await env.redis.eval(CLAIM_LUA, 3, k.queue, k.slot, k.epoch, 10) as [number, number];
    const ack = (size: number, expectLen: number, e = epoch) => env.redis.eval(ACK_LUA, 2, k.slot, k.epoch, size, expectLen, e);
    expect(await ack(2, 5)).toBe(1);
    // The same ack resent after a lost reply: a no-op.
    expect(await ack(2, 5)).toBe(0);
    expect(await env.redis.lrange(k.slot, 0, -1)).toEqual(['3', '4', '5']);
    expect(await ack(3, 3)).toBe(1);
    expect(await env.redis.exists(k.slot)).toBe(0);
    // Refilled with as many items as a stale ack expects: the epoch keeps it off them.
    await env.redis.rpush(k.queue, 'x', 'y', 'z');
    expect(await env.redis.eval(CLAIM_LUA, 3, k.queue, k.slot, k.epoch, 10)).toEqual([3, epoch + 1, 'x', 'y', 'z']);
    expect(await ack(3, 3)).toBe(0);
    expect(await env.redis.lrange(k.slot, 0, -1)).toEqual(['x', 'y', 'z']);
  });
});
