/** Test helpers: a fresh key prefix per test file, and deleting every key it made afterwards. */
import { Redis } from 'ioredis';
import { REDIS_URL } from './services.js';

export const freshPrefix = (label: string): string =>
  `bwtest-${label}-${process.pid}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`;

/** Deletes the keys of `prefix`: the queues' `{prefix:…}` keys and the `prefix:…` registry. */
export async function deletePrefix(prefix: string, url = REDIS_URL): Promise<void> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
  r.on('error', () => {});
  try {
    await r.connect();
    for (const pattern of [`{${prefix}:*`, `${prefix}:*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await r.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) await r.unlink(...keys);
      } while (cursor !== '0');
    }
  } finally {
    r.disconnect();
  }
}
