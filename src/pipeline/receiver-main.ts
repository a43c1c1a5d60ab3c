import { log } from '../log.js';
import { createRuntime, reportReady } from '../runtime.js';
import { startReceiver } from './receiver.js';

/** `playstream receiver`: the callback receiver as its own process. */
export async function runReceiver(): Promise<void> {
  const rt = await createRuntime('receiver');
  const receiver = await startReceiver({ config: rt.config, pool: rt.pool, redis: rt.redis });
  rt.onShutdown(() => receiver.close());
  log.info('receiver ready', { queue: rt.config.callbackQueue });
  reportReady();
}

