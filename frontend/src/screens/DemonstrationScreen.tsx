/** Write the ideal answer to a prompt, with the guideline beside it. The draft survives a reload. */

import { useState } from "preact/hooks";
import { ApiError } from "../api";
import { ApiState, Errors, useApi } from "../components/ui";
import { useDraft } from "../components/useDraft";
import { DoneNotice, GuidelinePanel, newIdempotencyKey, PromptView, SkipForm } from "../components/workParts";
import { continueWork, labeling, WorkItem } from "../labelingApi";
import { clearDraft } from "../logic/draft";
import { errorsFor, FieldErrors, otherErrors } from "../logic/errors";

interface Draft { text: string; startedAt: number; key: string }

export function DemonstrationScreen(props: { assignmentId: number }) {
  const { data: item, error, loading } = useApi(() => labeling.assignment(props.assignmentId), [props.assignmentId]);
  // As on the ranking screen: the submitted task never shows under the next task's address.
  if (!item || item.assignmentId !== props.assignmentId) return <ApiState error={error} loading={loading || Boolean(item)} />;
  return <DemonstrationForm item={item} key={item.assignmentId} />;
}

function DemonstrationForm({ item }: { item: WorkItem }) {
  const [draft, updateDraft] = useDraft<Draft>(item.assignmentId, () => ({
    text: "", startedAt: Date.now(), key: newIdempotencyKey(),
  }));
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setErrors({});
    setBusy(true);
    try {
      await labeling.submitDemonstration(item.assignmentId, {
        text: draft.text,
        seconds_spent: Math.round((Date.now() - draft.startedAt) / 1000),
        idempotency_key: draft.key,
      });
      clearDraft(localStorage, item.assignmentId);
      await continueWork("demonstration", "demonstration");
    } catch (err) {
      setErrors(err instanceof ApiError ? err.fields : { "": [String(err)] });
    } finally {
      setBusy(false);
    }
  };

  const skip = async (reason: string) => {
    try {
      await labeling.skip(item.assignmentId, reason);
      clearDraft(localStorage, item.assignmentId);
      await continueWork("demonstration", "skip");
    } catch (err) {
      setErrors(err instanceof ApiError ? err.fields : { "": [String(err)] });
    }
  };

  return (
    <div class="work-layout">
      <div class="work-main">
        <h1>Write a demonstration</h1>
        <DoneNotice />
        {item.leaseExpiresAt ? <p class="muted">Reserved for you until {new Date(item.leaseExpiresAt).toLocaleTimeString()}.</p> : null}
        <Errors messages={otherErrors(errors, ["text", "reason"])} />
        <PromptView messages={item.messages} />
        <form onSubmit={submit} class="card">
          <label for="demo-text">Your answer</label>
          <p class="hint" id="demo-help">Write the answer you would want the assistant to give, following the guidelines.</p>
          <textarea id="demo-text" rows={12} value={draft.text} aria-describedby="demo-help demo-errors"
            onInput={(e) => { const text = e.currentTarget.value; updateDraft((d) => ({ ...d, text })); }} />
          <Errors messages={errorsFor(errors, "text")} id="demo-errors" />
          <p class="muted">{draft.text.trim().split(/\s+/).filter(Boolean).length} words · draft saved on this device</p>
          <div class="row">
            <button type="submit" disabled={busy} data-testid="submit">Submit demonstration</button>
          </div>
        </form>
        <SkipForm onSkip={skip} errors={errorsFor(errors, "reason")} />
      </div>
      <div class="work-side">
        <GuidelinePanel guideline={item.guideline} />
      </div>
    </div>
  );
}
