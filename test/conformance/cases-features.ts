/** The flow-control features (issue 15), each in its own case file, run on every store. */
import type { Harness } from './suite.js';
import { scheduleCases } from './cases-schedules.js';
import { uniqueCases } from './cases-unique.js';
import { progressCases } from './cases-progress.js';
import { flowCases } from './cases-flows.js';
import { groupCases } from './cases-groups.js';

export function featureCases(h: Harness): void {
  scheduleCases(h);
  uniqueCases(h);
  progressCases(h);
  flowCases(h);
  groupCases(h);
}
