/** The package's entry points: the subpath users import, and the source file behind it. */
export const ENTRIES: Record<string, string> = {
  bulwark: 'src/index.ts',
  'bulwark/resilience': 'src/resilience/index.ts',
  'bulwark/cache': 'src/cache/index.ts',
  'bulwark/observe': 'src/observe/index.ts',
  'bulwark/server': 'src/server/index.ts',
  'bulwark/dashboard': 'src/dashboard/index.ts',
  'bulwark/store': 'src/store/index.ts',
  'bulwark/sqlite': 'src/store/sqlite/index.ts',
  'bulwark/postgres': 'src/store/postgres/index.ts',
  'bulwark/redis': 'src/store/redis/index.ts',
};
