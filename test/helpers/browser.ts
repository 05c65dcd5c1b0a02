/**
 * Real Chromium for browser tests (Debian's `chromium`, driven by playwright-core). Without it the
 * tests are skipped with a notice; with BULWARK_REQUIRE_SERVICES=1 (CI) a missing browser fails.
 */
import { existsSync } from 'node:fs';
import { REQUIRE_SERVICES } from './services.js';

export const CHROMIUM = process.env.BULWARK_CHROMIUM ?? '/usr/bin/chromium';

export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (REQUIRE_SERVICES) {
    throw new Error(
      `[bulwark tests] Chromium is required (BULWARK_REQUIRE_SERVICES=1) but ${CHROMIUM} is missing`,
    );
  }
  console.warn(`\n[bulwark tests] NOTICE: Chromium not found at ${CHROMIUM}: browser tests are SKIPPED\n`);
  return false;
}
