import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sqliteStore } from '../../src/index.js';
import { describeStore } from './suite.js';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-conf-'));

describeStore({
  name: 'sqlite (file, WAL)',
  create: () => sqliteStore({ path: join(dir, 'conformance.db') }),
  destroy: async () => rmSync(dir, { recursive: true, force: true }),
});

describeStore({
  name: 'sqlite (:memory:)',
  create: () => sqliteStore({ path: ':memory:' }),
});
