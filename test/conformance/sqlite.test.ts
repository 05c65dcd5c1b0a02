import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sqliteStore } from '../../src/index.js';
import { describeStore } from './suite.js';

const dir = mkdtempSync(join(tmpdir(), 'bulwark-conf-'));

const file = join(dir, 'conformance.db');

describeStore({
  name: 'sqlite (file, WAL)',
  create: () => sqliteStore({ path: file }),
  capabilities: { notify: false, transactionalEnqueue: false, multiProcess: true, durable: true },
  open: () => sqliteStore({ path: file }),
  destroy: async () => rmSync(dir, { recursive: true, force: true }),
});

describeStore({
  name: 'sqlite (:memory:)',
  create: () => sqliteStore({ path: ':memory:' }),
  capabilities: { notify: false, transactionalEnqueue: false, multiProcess: false, durable: false },
});
