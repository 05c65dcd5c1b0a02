/** Validation at the boundary: every public entry point checks its input here, before any write. */
import { z } from 'zod';
import { ValidationError, messageOf } from './errors.js';

/** Parses `value` with `schema` or throws a ValidationError naming the first bad field. */
export function parseOptions<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  let r: z.ZodSafeParseResult<z.output<S>>;
  try {
    r = schema.safeParse(value ?? {});
  } catch (e) {
    // A getter or a proxy trap of the options object threw while it was read.
    throw new ValidationError(`[bulwark] invalid ${what}: it could not be read (${messageOf(e)})`, {
      path: what,
      cause: e,
    });
  }
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const path = issue.path.length ? `${what}.${issue.path.join('.')}` : what;
  throw new ValidationError(`[bulwark] invalid ${path}: ${issue.message}`, { path });
}

/**
 * A shallow copy of an options object that is taken apart before it is parsed (`{ a, ...rest }`):
 * anything but an object, or an object whose getters or proxy traps throw, is a ValidationError.
 */
export function readOptions(value: unknown, what: string): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object') {
    throw new ValidationError(`[bulwark] invalid ${what}: expected an object, got a ${typeof value}`, {
      path: what,
    });
  }
  try {
    return { ...value };
  } catch (e) {
    throw new ValidationError(`[bulwark] invalid ${what}: it could not be read (${messageOf(e)})`, {
      path: what,
      cause: e,
    });
  }
}

const MAX_DEPTH = 64;

/** A lone (unpaired) UTF-16 surrogate: text no store keeps exactly (Postgres turns it into U+FFFD). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when every store keeps `s` byte for byte: well-formed Unicode, no NUL character. */
export function isStorableText(s: string): boolean {
  return !s.includes('\0') && !LONE_SURROGATE.test(s);
}

/**
 * A string bulwark stores as a key or a label (ids, names, correlation ids, search text): refused
 * when a store could not keep it exactly, so that every store treats it the same.
 */
export const zText = z
  .string()
  .refine(isStorableText, 'must be well-formed Unicode text without NUL characters (no lone surrogates)');

/** Makes text safe to store in bulwark's own records (error messages): lone surrogates and NUL replaced. */
export function storableText(s: string): string {
  return isStorableText(s)
    ? s
    : s.replace(/\0/g, '\uFFFD').replace(new RegExp(LONE_SURROGATE.source, 'g'), '\uFFFD');
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'object') return (v as object).constructor?.name ?? 'object';
  return typeof v;
}

/**
 * Throws a ValidationError naming the path unless `value` is plain JSON data that reads back as
 * written: null, booleans, finite numbers, strings, arrays and plain objects with string keys. An
 * object with `toJSON` (a Date) is judged by what `toJSON` returns, as JSON.stringify would; an
 * invalid Date, or a `toJSON` that returns undefined, a function, NaN, a Map or throws, is refused.
 * Catches what JSON.stringify would silently drop or mangle (functions, undefined in arrays, NaN,
 * Map, Set, class instances, symbol keys) and what it would throw on (BigInt, cycles).
 */
export function assertJson(value: unknown, path: string): void {
  const seen = new Set<object>();
  const fail = (p: string, what: string): never => {
    throw new ValidationError(`[bulwark] ${p} ${what}`, { path: p });
  };
  const walk = (v: unknown, p: string, depth: number, key: string): void => {
    try {
      walkValue(v, p, depth, key);
    } catch (e) {
      if (e instanceof ValidationError) throw e;
      // A getter, a toJSON getter or a proxy trap threw while the value was read.
      throw new ValidationError(`[bulwark] ${p} could not be read: ${messageOf(e)}`, { path: p, cause: e });
    }
  };
  const walkValue = (v: unknown, p: string, depth: number, key: string): void => {
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return;
      case 'number':
        if (!Number.isFinite(v)) fail(p, `is ${v}, not JSON`);
        return;
      case 'object': {
        if (v === null) return;
        if (depth > MAX_DEPTH) fail(p, 'is nested too deeply');
        if (seen.has(v)) fail(p, 'contains a cycle');
        const toJSON = (v as { toJSON?: unknown }).toJSON;
        if (typeof toJSON === 'function') {
          if (v instanceof Date && Number.isNaN(v.getTime())) fail(p, 'is an invalid Date');
          let replaced: unknown;
          try {
            replaced = (toJSON as (k: string) => unknown).call(v, key);
          } catch (e) {
            throw new ValidationError(`[bulwark] ${p}.toJSON() threw: ${(e as Error)?.message ?? e}`, {
              path: p,
              cause: e,
            });
          }
          if (replaced === undefined) fail(p, 'has a toJSON() that returns undefined');
          seen.add(v);
          walk(replaced, `${p}.toJSON()`, depth + 1, key);
          seen.delete(v);
          return;
        }
        seen.add(v);
        if (Array.isArray(v)) {
          for (let i = 0; i < v.length; i++) {
            if (v[i] === undefined) fail(`${p}[${i}]`, 'is undefined');
            walk(v[i], `${p}[${i}]`, depth + 1, String(i));
          }
        } else {
          const proto = Object.getPrototypeOf(v) as unknown;
          if (proto !== Object.prototype && proto !== null)
            fail(p, `is a ${describe(v)}, not a plain object`);
          if (Object.getOwnPropertySymbols(v).length > 0) fail(p, 'has symbol keys, which JSON drops');
          for (const k in v) {
            const child = (v as Record<string, unknown>)[k];
            if (child !== undefined) walk(child, `${p}.${k}`, depth + 1, k);
          }
        }
        seen.delete(v);
        return;
      }
      default:
        fail(p, `is a ${typeof v}, not JSON`);
    }
  };
  walk(value, path, 0, '');
}

/** Checks and serializes user data; enforces a byte limit when given. */
export function toJsonText(value: unknown, path: string, maxBytes?: number): string {
  assertJson(value, path);
  let text: string;
  try {
    text = JSON.stringify(value === undefined ? null : value);
  } catch (e) {
    // Only a value that changes between two reads (a getter, a toJSON) gets here.
    throw new ValidationError(`[bulwark] ${path} could not be serialized: ${messageOf(e)}`, {
      path,
      cause: e,
    });
  }
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

/**
 * A plain object of JSON data kept as a record (metadata): taken as given, not copied (a copy would
 * turn a `__proto__` key into a prototype and drop it), and without a `toJSON` of its own (which could
 * make it anything but an object). Its fields are checked by `toJsonText`.
 */
export const zJsonRecord = z.custom<Record<string, unknown>>((v) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return (
    (proto === Object.prototype || proto === null) && typeof (v as { toJSON?: unknown }).toJSON !== 'function'
  );
}, 'expected a plain object (a record of JSON values, without toJSON)');

export const zPositiveInt = z.number().int().positive();
export const zNonNegativeInt = z.number().int().nonnegative();
export const zQueueName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'use letters, digits and _ . : - only');
