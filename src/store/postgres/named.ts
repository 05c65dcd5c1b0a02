/**
 * Named statements for the feature SQL files (schedules, uniqueness, flows, groups): the same naming
 * as sql.ts (a hash of the schema in every name, so stores on different schemas can share a pool),
 * without importing it (the migrations import these files).
 */
import { createHash } from 'node:crypto';

export interface NamedStatement {
  name: string;
  text: string;
}

export function statementNamer(schema: string): (name: string, text: string) => NamedStatement {
  const prefix = `bw_${createHash('sha1').update(schema).digest('hex').slice(0, 10)}_`;
  return (name, text) => ({ name: prefix + name, text });
}
