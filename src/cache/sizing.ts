/**
 * The default size calculator: an estimate of the heap a value keeps alive, in bytes.
 *
 * It is an estimate, not a measurement: strings count two bytes per UTF-16 code unit, binary data its
 * byte length, numbers eight bytes, and objects, arrays, Maps and Sets the sum of their contents plus
 * a small per-slot overhead. What matters for a byte limit is that big values weigh more than small
 * ones in proportion; pass your own `sizeOf` when you know better (e.g. `Buffer.byteLength` of a
 * serialized payload).
 */

/** Overhead charged per object/array/Map/Set and per property slot (pointer + header share). */
const OBJECT_OVERHEAD = 16;
const SLOT_OVERHEAD = 8;
/** Deep values beyond this nesting count as their overhead only, so a pathological value cannot stall a set. */
const MAX_DEPTH = 32;

export function estimateSize(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return 2 * value.length;
    case 'number':
      return 8;
    case 'boolean':
      return 4;
    case 'bigint':
      return 8 + Math.ceil(value.toString(16).length / 2);
    case 'undefined':
    case 'symbol':
    case 'function':
      return 8;
    default:
      return value === null ? 8 : sizeOfObject(value as object, 0, new Set<object>());
  }
}

function sizeOfObject(value: object, depth: number, seen: Set<object>): number {
  if (ArrayBuffer.isView(value)) return value.byteLength;
  if (value instanceof ArrayBuffer) return value.byteLength;
  // A value reachable twice is held once; cycles would otherwise never end.
  if (seen.has(value) || depth >= MAX_DEPTH) return SLOT_OVERHEAD;
  seen.add(value);
  let total = OBJECT_OVERHEAD;
  if (Array.isArray(value)) {
    for (const item of value as unknown[]) total += SLOT_OVERHEAD + sizeOf(item, depth + 1, seen);
  } else if (value instanceof Map) {
    for (const [k, v] of value as Map<unknown, unknown>) {
      total += 2 * SLOT_OVERHEAD + sizeOf(k, depth + 1, seen) + sizeOf(v, depth + 1, seen);
    }
  } else if (value instanceof Set) {
    for (const item of value as Set<unknown>) total += SLOT_OVERHEAD + sizeOf(item, depth + 1, seen);
  } else if (value instanceof Date) {
    total += 8;
  } else {
    for (const k of Object.keys(value)) {
      total += SLOT_OVERHEAD + 2 * k.length + sizeOf((value as Record<string, unknown>)[k], depth + 1, seen);
    }
  }
  return total;
}

function sizeOf(value: unknown, depth: number, seen: Set<object>): number {
  return typeof value === 'object' && value !== null ? sizeOfObject(value, depth, seen) : estimateSize(value);
}
