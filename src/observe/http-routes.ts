/**
 * Route templates for plain node:http servers, which know only the raw path: `/users/:id` matches
 * `/users/42`, `/files/*` matches `/files/a/b.txt`. The template, not the path, becomes the metric
 * label, so label values stay as few as the routes.
 */
import { ValidationError } from '../kernel/errors.js';

type Segment = { kind: 'literal'; value: string } | { kind: 'param' } | { kind: 'rest' };

interface Compiled {
  template: string;
  segments: Segment[];
}

const MAX_TEMPLATE_CHARS = 500;

function split(path: string): string[] {
  const parts = path.split('/');
  // '/a/b/' and '/a/b' are the same route; '/' is no segment at all.
  if (parts[parts.length - 1] === '') parts.pop();
  return parts.slice(1);
}

function compile(template: string, index: number): Compiled {
  const path = `routes[${index}]`;
  if (typeof template !== 'string' || !template.startsWith('/') || template.length > MAX_TEMPLATE_CHARS) {
    throw new ValidationError(
      `[bulwark] [http-metrics] invalid ${path}: a route template starts with '/' and has at most ${MAX_TEMPLATE_CHARS} characters`,
      { path },
    );
  }
  const parts = split(template);
  const segments = parts.map((p, i): Segment => {
    if (p === '*') {
      if (i !== parts.length - 1) {
        throw new ValidationError(`[bulwark] [http-metrics] invalid ${path}: '*' must be the last segment`, {
          path,
        });
      }
      return { kind: 'rest' };
    }
    if (p.startsWith(':')) {
      if (p.length === 1) {
        throw new ValidationError(`[bulwark] [http-metrics] invalid ${path}: a parameter needs a name`, {
          path,
        });
      }
      return { kind: 'param' };
    }
    return { kind: 'literal', value: p };
  });
  return { template, segments };
}

function matches(c: Compiled, parts: string[]): boolean {
  const s = c.segments;
  for (let i = 0; i < s.length; i++) {
    const seg = s[i]!;
    if (seg.kind === 'rest') return true;
    const part = parts[i];
    if (part === undefined || part === '') return false;
    if (seg.kind === 'literal' && seg.value !== part) return false;
  }
  return parts.length === s.length;
}

/**
 * A matcher from request paths (query strings ignored) to the first template that matches, in the
 * order given; undefined when none does.
 */
export function routeMatcher(templates: readonly string[]): (url: string | undefined) => string | undefined {
  if (!Array.isArray(templates)) {
    throw new ValidationError('[bulwark] [http-metrics] routes must be an array of templates', {
      path: 'routes',
    });
  }
  const compiled = templates.map(compile);
  return (url) => {
    if (url === undefined) return undefined;
    const q = url.indexOf('?');
    const parts = split(q === -1 ? url : url.slice(0, q));
    for (const c of compiled) if (matches(c, parts)) return c.template;
    return undefined;
  };
}
