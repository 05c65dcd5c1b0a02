import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeCrash } from './crash.js';

describeCrash({
  name: 'sqlite',
  factory: join(dirname(fileURLToPath(import.meta.url)), 'stores/sqlite.ts'),
  arg: (dir) => join(dir, 'crash.db'),
});
