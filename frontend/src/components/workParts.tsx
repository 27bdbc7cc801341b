/** Pieces shared by the ranking and demonstration screens: the prompt, the guideline panel, skip. */

import { useEffect, useRef, useState } from "preact/hooks";
import { Guideline, Message } from "../labelingApi";
import { Markdown } from "./Markdown";
import { Errors } from "./ui";

export function PromptView(props: { messages: Message[] }) {
  return (
    <section class="prompt" aria-labelledby="prompt-title">
      <h2 id="prompt-title">Prompt</h2>
      {props.messages.map((m, i) => (
        <div class={`message role-${m.role}`} data-testid="prompt-message">
          {props.messages.length > 1 || m.role !== "user" ? <span class="role">{m.role}</span> : null}
          <p class="text" id={i === props.messages.length - 1 ? "prompt-text" : undefined}>{m.content}</p>
        </div>
      ))}
    </section>
  );
}

export function GuidelinePanel(props: { guideline: Guideline | null }) {
  const g = props.guideline;
  return (
    <aside class="guideline" aria-label="Guidelines">
      <details open>
        <summary>{g ? `${g.name} — version ${g.number}` : "Guidelines"}</summary>
        {g ? <Markdown source={g.body} class="guideline-body markdown" testId="guideline-body" /> : <p class="muted">No published guideline.</p>}
      </details>
    </aside>
  );
}

export function SkipForm(props: { onSkip: (reason: string) => Promise<void>; errors: string[] }) {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState("");
  const field = useRef<HTMLTextAreaElement>(null);
  useEffect(() => { if (open) field.current?.focus(); }, [open]);  // autoFocus does not fire on a later mount
  if (!open) return <button type="button" class="secondary" id="skip-open" onClick={() => setOpen(true)}>Skip this task…</button>;
  return (
    <form class="skip" onSubmit={(e) => { e.preventDefault(); props.onSkip(reason); }}>
      <label for="skip-reason">Why skip this task?</label>
      <textarea id="skip-reason" ref={field} rows={2} value={reason} onInput={(e) => setReason(e.currentTarget.value)} required autoFocus
        aria-describedby="skip-errors" />
      <Errors messages={props.errors} id="skip-errors" />
      <div class="row">
        <button type="submit" class="secondary">Skip</button>
        <button type="button" class="link-button" onClick={() => setOpen(false)}>Cancel</button>
      </div>
    </form>
  );
}

export function newIdempotencyKey(): string {
  const c = globalThis.crypto as Crypto | undefined;
  return c && "randomUUID" in c ? c.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

const DONE: Record<string, string> = {
  ranking: "Ranking submitted. Thank you!",
  demonstration: "Demonstration submitted. Thank you!",
  skip: "Task skipped.",
};

/** "Ranking submitted" etc., from ?done= after the previous task. */
export function DoneNotice() {
  const message = DONE[new URLSearchParams(location.search).get("done") ?? ""];
  return message ? <p class="notice" role="status">{message} Here is the next task.</p> : null;
}
