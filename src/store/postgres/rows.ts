/** Rows as `pg` returns them, and their conversion to the contract's StoredJob. */
import pg from 'pg';
import type { CustomTypesConfig } from 'pg';
import { rowToJob, type JobRow as SqlJobRow } from '../shared/sql-row.js';
import type { JobErrorRecord, StoredJob } from '../types.js';

/** Postgres keeps the error history as jsonb: `pg` hands it over parsed. */
export type JobRow = SqlJobRow<JobErrorRecord[]> & { seq: number };

const INT8_OID = 20;
const parseInt8 = (v: string): number => Number(v);

/**
 * Epoch-ms columns are bigint, which `pg` returns as strings by default. These parsers are set per
 * query, so a pool the user hands in keeps its own global settings.
 */
export const TYPES: CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary'
      ? parseInt8
      : pg.types.getTypeParser(oid, format ?? 'text')) as CustomTypesConfig['getTypeParser'],
};

const asIs = (errors: JobErrorRecord[]): JobErrorRecord[] => errors;

export function fromRow(r: JobRow): StoredJob {
  return rowToJob(r, asIs);
}
