/**
 * `bulwark/store`: the Store contract, for writing a backend of your own. A store implements `Store`,
 * declares its `capabilities`, and passes the conformance suite in the repository's test/conformance.
 */
export type * from './types.js';
export {
  CAPABILITIES,
  ERROR_HISTORY_LIMIT,
  FAILURE_ACTIONS,
  FINAL_STATES,
  JOB_STATES,
  requireCapability,
  usesFeatures,
} from './types.js';
export { CapabilityError, StoreError, isCapabilityError } from '../kernel/errors.js';
