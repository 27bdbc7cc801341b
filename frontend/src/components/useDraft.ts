/**
 * A labeler's draft as component state that is written to localStorage on every change, in the
 * event handler itself. Saving from an effect instead lost the last keystrokes when the page was
 * reloaded before the effect ran.
 */

import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { loadDraft, saveDraft } from "../logic/draft";

export function useDraft<T>(assignmentId: number, fresh: () => T): [T, (change: (draft: T) => T) => void] {
  const [draft, setDraft] = useState<T>(() => loadDraft<T>(localStorage, assignmentId) ?? fresh());
  const latest = useRef(draft);
  // Keep the start time and idempotency key of a fresh draft even if nothing is typed before a reload.
  useEffect(() => saveDraft(localStorage, assignmentId, latest.current), [assignmentId]);
  const update = useCallback((change: (draft: T) => T) => {
    const next = change(latest.current);
    latest.current = next;
    saveDraft(localStorage, assignmentId, next);
    setDraft(next);
  }, [assignmentId]);
  return [draft, update];
}
