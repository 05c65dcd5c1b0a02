/**
 * The words for a pause reason, shared by the server and the browser UI (which bundles this file):
 * a reason's `auth:` / `dashboard:` / `cli:` tag says who paused, and is not shown again after it.
 */

/** The reason as people read it: without the tag that `pausedBy` already put into words. */
export function shownReason(reason: string | null): string {
  return (reason ?? '').replace(/^(dashboard|cli|auth)(:\s*|$)/, '');
}
