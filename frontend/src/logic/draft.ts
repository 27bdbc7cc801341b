/**
 * Drafts survive a page reload: the labeler's unfinished work is kept in localStorage under a key
 * made from the assignment id, and removed once the work is submitted or skipped.
 */

const PREFIX = "rlhf:draft:";
const VERSION = 1;

interface Stored<T> {
  v: number;
  savedAt: string;
  data: T;
}

export function draftKey(assignmentId: number | string): string {
  return `${PREFIX}${assignmentId}`;
}

export function saveDraft<T>(storage: Storage, assignmentId: number | string, data: T, now = new Date()): void {
  const value: Stored<T> = { v: VERSION, savedAt: now.toISOString(), data };
  try {
    storage.setItem(draftKey(assignmentId), JSON.stringify(value));
  } catch {
    // Storage full or disabled: the draft is a convenience, the work itself is still on screen.
  }
}

export function loadDraft<T>(storage: Storage, assignmentId: number | string): T | null {
  const raw = storage.getItem(draftKey(assignmentId));
  if (raw === null) return null;
  try {
    const value = JSON.parse(raw) as Stored<T>;
    return value && value.v === VERSION ? value.data : null;
  } catch {
    return null;
  }
}

export function clearDraft(storage: Storage, assignmentId: number | string): void {
  storage.removeItem(draftKey(assignmentId));
}

/** Remove drafts of assignments that are no longer the labeler's (e.g. leases that expired). */
export function pruneDrafts(storage: Storage, keepIds: (number | string)[]): number {
  const keep = new Set(keepIds.map(draftKey));
  const stale: string[] = [];
  for (let i = 0; i < storage.length; i++) {
    const key = storage.key(i);
    if (key && key.startsWith(PREFIX) && !keep.has(key)) stale.push(key);
  }
  stale.forEach((key) => storage.removeItem(key));
  return stale.length;
}
