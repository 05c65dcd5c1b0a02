/**
 * 32-bit key hashes for the frequency sketch. A collision only blurs a frequency estimate, it never
 * returns a wrong value, so speed matters more here than perfect spread.
 * @internal
 */

const float = new Float64Array(1);
const words = new Uint32Array(float.buffer);
// Objects and functions have no content hash we could compute cheaply; a weakly held id keeps their
// hash stable without keeping them alive.
const objectIds = new WeakMap<object, number>();
let nextObjectId = 1;

/** murmur3's finalizer: turns sequential integers (typical cache keys) into well-spread bits. */
export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

export function hashString(s: string): number {
  let h = 0x811c9dc5 ^ s.length;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return mix32(h);
}

export function hashKey(key: unknown): number {
  switch (typeof key) {
    case 'number':
      if ((key | 0) === key) return mix32(key);
      float[0] = key;
      return mix32(words[0]! ^ Math.imul(words[1]!, 0x9e3779b1));
    case 'string':
      return hashString(key);
    case 'object':
    case 'function': {
      if (key === null) return 0x27d4eb2f;
      let id = objectIds.get(key);
      if (id === undefined) {
        id = nextObjectId++;
        objectIds.set(key, id);
      }
      return mix32(id ^ 0x5f356495);
    }
    case 'bigint':
      return hashString(key.toString(36));
    case 'symbol':
      return hashString(key.description ?? '') ^ 0x165667b1;
    case 'boolean':
      return key ? 0x3c6ef372 : 0x1b873593;
    default:
      return 0x61c88647;
  }
}
