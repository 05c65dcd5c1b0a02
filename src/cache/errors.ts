import { ValidationError } from '../kernel/errors.js';

/**
 * A value whose measured size exceeds the cache's `maxBytes`: storing it would evict everything and
 * still not fit, so the set is refused and the cache is left as it was. It is a `ValidationError`
 * (code `VALIDATION`), with the sizes attached.
 */
export class CacheEntryTooLargeError extends ValidationError {
  readonly sizeBytes: number;
  readonly maxBytes: number;
  constructor(key: string, sizeBytes: number, maxBytes: number) {
    super(
      `[bulwark] [cache] entry for key ${key} is ${sizeBytes} bytes, more than maxBytes (${maxBytes}); not stored`,
      { path: 'value' },
    );
    this.sizeBytes = sizeBytes;
    this.maxBytes = maxBytes;
  }
}

/** True for a {@link CacheEntryTooLargeError}, also across package copies. */
export function isCacheEntryTooLargeError(e: unknown): e is CacheEntryTooLargeError {
  return (
    typeof e === 'object' &&
    e !== null &&
    (e as { code?: unknown }).code === 'VALIDATION' &&
    typeof (e as { sizeBytes?: unknown }).sizeBytes === 'number' &&
    typeof (e as { maxBytes?: unknown }).maxBytes === 'number'
  );
}
