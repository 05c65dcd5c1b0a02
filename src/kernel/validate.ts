/** Validation at the boundary: every public entry point checks its input here, before any write. */
import { z } from 'zod';
import { ValidationError } from './errors.js';

/** Parses `value` with `schema` or throws a ValidationError naming the first bad field. */
export function parseOptions<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const path = issue.path.length ? `${what}.${issue.path.join('.')}` : what;
  throw new ValidationError(`[bulwark] invalid ${path}: ${issue.message}`, { path });
}

const MAX_DEPTH = 64;

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}

/**
 * Throws unless `value` is plain JSON data: null, booleans, finite numbers, strings, arrays and
 * plain objects (objects with `toJSON`, like Date, are allowed). Catches what JSON.stringify would
 * silently drop or mangle (functions, undefined in arrays, NaN, Map, Set, class instances) and what
 * it would throw on (BigInt, cycles).
 */
export function assertJson(value: unknown, path: string): void {
  const seen = new Set<object>();
  const walk = (v: unknown, p: string, depth: number): void => {
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return;
      case 'number':
        if (!Number.isFinite(v)) throw new ValidationError(`[bulwark] ${p} is ${v}, not JSON`, { path: p });
        return;
      case 'object': {
        if (v === null) return;
        if (depth > MAX_DEPTH) throw new ValidationError(`[bulwark] ${p} is nested too deeply`, { path: p });
        if (seen.has(v)) throw new ValidationError(`[bulwark] ${p} contains a cycle`, { path: p });
        if (typeof (v as { toJSON?: unknown }).toJSON === 'function') return;
        seen.add(v);
        if (Array.isArray(v)) {
          for (let i = 0; i < v.length; i++) {
            if (v[i] === undefined)
              throw new ValidationError(`[bulwark] ${p}[${i}] is undefined`, { path: p });
            walk(v[i], `${p}[${i}]`, depth + 1);
          }
        } else {
          const proto = Object.getPrototypeOf(v) as unknown;
          if (proto !== Object.prototype && proto !== null) {
            throw new ValidationError(`[bulwark] ${p} is a ${describe(v)}, not a plain object`, { path: p });
          }
          for (const k in v) {
            const child = (v as Record<string, unknown>)[k];
            if (child !== undefined) walk(child, `${p}.${k}`, depth + 1);
          }
        }
        seen.delete(v);
        return;
      }
      default:
        throw new ValidationError(`[bulwark] ${p} is a ${typeof v}, not JSON`, { path: p });
    }
  };
  walk(value, path, 0);
}

/** Checks and serializes user data; enforces a byte limit when given. */
export function toJsonText(value: unknown, path: string, maxBytes?: number): string {
  assertJson(value, path);
  const text = JSON.stringify(value === undefined ? null : value);
  if (maxBytes !== undefined && text.length > maxBytes / 4) {
    // Only measure bytes when the string could be over the limit (UTF-8 is at most 4 bytes/char... per UTF-16 unit 3).
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > maxBytes) {
      throw new ValidationError(`[bulwark] ${path} is ${bytes} bytes, over the limit of ${maxBytes}`, {
        path,
      });
    }
  }
  return text;
}

export const zPositiveInt = z.number().int().positive();
export const zNonNegativeInt = z.number().int().nonnegative();
export const zQueueName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'use letters, digits and _ . : - only');
