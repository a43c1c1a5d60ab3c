import { log } from '../log.js';
import { createRuntime, reportReady } from '../runtime.js';

/** `playstream receiver`: the callback receiver. */
export async function runReceiver(): Promise<void> {
  const rt = await createRuntime('receiver');
  await rt.redis.ping();
  log.info('receiver ready', { queue: rt.config.callbackQueue });
  reportReady();
}
