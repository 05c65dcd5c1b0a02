/**
 * Gates for tests that need a real server. Without the server, the tests are skipped with a visible
 * notice; with BULWARK_REQUIRE_SERVICES=1 (CI), a missing server fails the run instead.
 */
import { Socket } from 'node:net';

export const REQUIRE_SERVICES = process.env.BULWARK_REQUIRE_SERVICES === '1';
export const POSTGRES_URL = process.env.BULWARK_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REDIS_URL = process.env.BULWARK_REDIS_URL ?? 'redis://127.0.0.1:6379';

function reachable(url: string): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = new Socket();
    const done = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(1000, () => done(false));
    s.once('error', () => done(false));
    s.connect(Number(u.port), u.hostname, () => done(true));
  });
}

/** True when the service answers; false (with a notice) when it does not and it is not required. */
export async function serviceAvailable(name: 'postgres' | 'redis'): Promise<boolean> {
  const url = name === 'postgres' ? POSTGRES_URL : REDIS_URL;
  if (await reachable(url)) return true;
  if (REQUIRE_SERVICES) {
    throw new Error(
      `[bulwark tests] ${name} is required (BULWARK_REQUIRE_SERVICES=1) but ${url} is not reachable`,
    );
  }
  console.warn(`\n[bulwark tests] NOTICE: ${name} is not reachable at ${url}: its tests are SKIPPED\n`);
  return false;
}
