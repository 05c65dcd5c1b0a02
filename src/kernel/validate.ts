/** Validation at the boundary: every public entry point checks its input here, before any write. */
import { z } from 'zod';
import { ValidationError, messageOf } from './errors.js';

/**
 * Parses `value` with `schema` or throws a ValidationError naming the first bad field: its path
 * (`retry.backoff.delayMs`), what was expected and what was given. An unknown key is named with the
 * keys that are known; a value no branch of a union accepts is told the accepted kinds; a union whose
 * branch matched the shape reports that branch's own problem rather than a bare "Invalid input".
 */
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
  // An unknown key first: a typo (`timeoutMS`) explains the required key it leaves missing.
  const issues = r.error.issues;
  const first = issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0]!;
  const { path: parts, message } = explain(first, [], schema, value);
  const path = parts.length ? `${what}.${parts.map(String).join('.')}` : what;
  throw new ValidationError(`[bulwark] invalid ${path}: ${message}`, { path });
}

type Issue = z.core.$ZodIssue;
type Key = PropertyKey;
interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  options?: z.ZodType[];
  element?: z.ZodType;
  in?: z.ZodType;
  valueType?: z.ZodType;
}

const defOf = (s: z.ZodType | undefined): Def | undefined =>
  (s as { _zod?: { def?: Def } } | undefined)?._zod?.def;

/** The schema of the value at `path` below `schema` (best effort: undefined inside a union). */
function schemaAt(schema: z.ZodType | undefined, path: readonly Key[]): z.ZodType | undefined {
  let s = schema;
  for (let i = 0; s !== undefined;) {
    const d = defOf(s);
    if (d === undefined) return undefined;
    if (
      d.innerType !== undefined &&
      ['optional', 'nullable', 'default', 'prefault', 'nonoptional', 'readonly', 'catch'].includes(d.type)
    ) {
      s = d.innerType;
      continue;
    }
    if (d.type === 'pipe') {
      s = d.in;
      continue;
    }
    if (i === path.length) return s;
    const k = path[i++]!;
    if (d.type === 'object') s = d.shape?.[String(k)];
    else if (d.type === 'array') s = d.element;
    else if (d.type === 'record') s = d.valueType;
    else return undefined;
  }
  return undefined;
}

function valueAt(value: unknown, path: readonly Key[]): unknown {
  let v = value;
  for (const k of path) v = typeof v === 'object' && v !== null ? (v as Record<Key, unknown>)[k] : undefined;
  return v;
}

/** A value as a message shows it: strings quoted, numbers as JavaScript writes them (NaN, Infinity). */
function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' || v === undefined)
    return String(v);
  if (typeof v === 'function') return 'a function';
  if (Array.isArray(v)) return 'an array';
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? 'an invalid Date' : 'a Date';
  return describe(v);
}

/**
 * The keys an object schema knows; for a union of objects, those of the branch that knows most of
 * the keys `value` has (the branch the caller meant).
 */
function knownKeys(schema: z.ZodType | undefined, value: unknown): string[] {
  const d = defOf(schema);
  if (d?.type === 'object') return Object.keys(d.shape ?? {});
  if (d?.type !== 'union' || d.options === undefined) return [];
  const given = typeof value === 'object' && value !== null ? Object.keys(value) : [];
  let best: string[] = [];
  let score = -1;
  for (const option of d.options) {
    const keys = knownKeys(option, value);
    const n = given.filter((k) => keys.includes(k)).length;
    if (n > score) [best, score] = [keys, n];
  }
  return best;
}

/** A likely typo of `known`: the same but for case, or at most two edits apart. */
function close(known: string, given: string): boolean {
  const a = known.toLowerCase();
  const b = given.toLowerCase();
  if (a === b) return true;
  if (Math.abs(a.length - b.length) > 2) return false;
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]! <= (b.length < 6 ? 1 : 2);
}

/** What one branch of a union wanted, from its first issue at the union's own level. */
function wanted(issue: Issue): string {
  switch (issue.code) {
    case 'invalid_type':
      return issue.expected === 'int' ? 'an integer' : issue.expected;
    case 'invalid_value':
      return issue.values.map(show).join(' or ');
    default:
      return issue.message.replace(/^expected /, '');
  }
}

/** The path and message to report for `issue` (found at `base` below `root`, whose input is `input`). */
function explain(
  issue: Issue,
  base: readonly Key[],
  root: z.ZodType | undefined,
  input: unknown,
): { path: Key[]; message: string } {
  const path = [...base, ...issue.path];
  const here = schemaAt(root, issue.path);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const known = knownKeys(here, valueAt(input, path));
      const key = issue.keys[0]!;
      const others = issue.keys.slice(1);
      const near = known.find((k) => close(k, key));
      return {
        path: [...path, key],
        message:
          'unknown option' +
          (near === undefined ? '' : ` (did you mean ${near}?)`) +
          (others.length ? `; also unknown: ${others.join(', ')}` : '') +
          (known.length ? `; the options are ${known.join(', ')}` : ''),
      };
    }
    case 'invalid_union': {
      if (issue.errors.length === 0) {
        const options = 'options' in issue && issue.options ? issue.options.map(show).join(' | ') : undefined;
        return {
          path,
          message: options
            ? `expected one of ${options}, got ${show(valueAt(input, path))}`
            : `${issue.message}, got ${show(valueAt(input, path))}`,
        };
      }
      // A branch whose shape matched (no type or literal mismatch at the union's own level) has the
      // problem to report; otherwise none matched and the accepted kinds are listed.
      const branches = issue.errors.map((errors, i) => ({
        errors,
        i,
        mismatch: errors.filter((e) => e.code === 'invalid_value').length,
        rootType: errors.some(
          (e) =>
            e.path.length === 0 &&
            (e.code === 'invalid_type' || e.code === 'invalid_value' || e.code === 'custom'),
        ),
      }));
      const shaped = branches
        .filter((b) => !b.rootType && b.errors.length > 0)
        .sort((a, b) => a.mismatch - b.mismatch || a.errors.length - b.errors.length);
      if (shaped.length > 0) {
        const b = shaped[0]!;
        return explain(
          b.errors.find((e) => e.code === 'unrecognized_keys') ?? b.errors[0]!,
          path,
          defOf(here)?.options?.[b.i],
          input,
        );
      }
      const kinds = [...new Set(issue.errors.map((errors) => (errors[0] ? wanted(errors[0]) : 'unknown')))];
      return { path, message: `expected ${kinds.join(' or ')}, got ${show(valueAt(input, path))}` };
    }
    case 'invalid_type':
      if (valueAt(input, path) === undefined && path.length > 0) {
        return {
          path,
          message: `is required (expected ${issue.expected === 'int' ? 'an integer' : issue.expected})`,
        };
      }
      return {
        path,
        message: `expected ${issue.expected === 'int' ? 'an integer' : issue.expected}, got ${show(valueAt(input, path))}`,
      };
    case 'invalid_value':
    case 'too_small':
    case 'too_big':
    case 'not_multiple_of':
      return { path, message: `${issue.message}, got ${show(valueAt(input, path))}` };
    case 'custom':
      return {
        path,
        message: issue.message.startsWith('expected')
          ? `${issue.message}, got ${show(valueAt(input, path))}`
          : issue.message,
      };
    default:
      return { path, message: issue.message };
  }
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
