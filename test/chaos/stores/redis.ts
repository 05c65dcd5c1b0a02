/** Store factory for the crash test: `arg` is JSON `{ "url": …, "prefix": … }`. */
import { redisStore } from '../../../src/store/redis/index.js';
import type { Store } from '../../../src/index.js';

export default function createStore(arg: string): Store {
  const { url, prefix } = JSON.parse(arg) as { url: string; prefix: string };
  return redisStore({ url, prefix });
}
