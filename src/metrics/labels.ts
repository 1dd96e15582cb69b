/** Session end reasons (session/negotiation.ts CloseReason); anything else is counted as `other`: bounded labels. */
export const REASONS: ReadonlySet<string> = new Set(['local', 'hangup', 'peer-gone', 'no-answer', 'ice-failed', 'rejected', 'error']);
/** Ends that are failures rather than someone hanging up. */
export const FAILURES: ReadonlySet<string> = new Set(['no-answer', 'ice-failed', 'rejected', 'error', 'other']);
/** Camera names become label values: at most this many distinct ones per process (a hub runs a few). */
export const MAX_CAMERAS = 64;

/** A session's close reason (`ice-failed: ...` or `ice-failed`) as one of REASONS or `other`. */
export function reasonLabel(reason: string | undefined): string {
  const code = (reason ?? 'other').split(':')[0] ?? 'other';
  return REASONS.has(code) ? code : 'other';
}

/** `name` as a label value, or `other` once `seen` holds MAX_CAMERAS names. */
export function boundedName(seen: Set<string>, name: string): string {
  if (seen.has(name)) return name;
  if (seen.size >= MAX_CAMERAS) return 'other';
  seen.add(name);
  return name;
}
