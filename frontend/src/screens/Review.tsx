/** Demonstration review: the queue of submitted demonstrations; accept, reject with a comment the
 * labeler reads, or accept a selection at once. Only accepted demonstrations become SFT data. */

import { useState } from "preact/hooks";
import { api, ApiError, rows } from "../api";
import { ApiState, Errors, fmtDate, useApi } from "../components/ui";

interface Demo { id: number; prompt_text: string; text: string; labeler: number; created_at: string }

export function Review() {
  const queue = useApi(async () => rows<Demo>(await api.get(`/api/demonstrations/?review_state=submitted&ordering=id&limit=100`)), []);
  const [selected, setSelected] = useState<number[]>([]);
  const [comments, setComments] = useState<Record<number, string>>({});
  const [errors, setErrors] = useState<Record<number | string, string>>({});
  const [status, setStatus] = useState("");
  const items = queue.data ?? [];

  const send = async (ids: number[], decision: "accept" | "reject", comment = "") => {
    try {
      await api.post(`/api/demonstration-reviews/`, { ids, decision, comment });
      setStatus(`${decision === "accept" ? "Accepted" : "Rejected"} ${ids.length} demonstration${ids.length === 1 ? "" : "s"}.`);
      // Off the queue at once, so a selection made before the reload returns cannot include them.
      queue.setData(items.filter((d) => !ids.includes(d.id)));
      setSelected(selected.filter((id) => !ids.includes(id)));
      setErrors({});
      queue.reload();
    } catch (err) {
      const e = err as ApiError;
      setErrors({ [ids.length === 1 ? ids[0] : "bulk"]: (e.fields.comment ?? e.fields.ids ?? [e.message]).join(" ") });
    }
  };
  const allSelected = items.length > 0 && selected.length === items.length;

  return (
    <section class="page">
      <h1>Review demonstrations</h1>
      <p class="muted">Accepted demonstrations go into <code>sft</code> snapshots; a rejected one goes back to its labeler with your comment.</p>
      <p role="status" data-testid="review-status">{status}</p>
      <ApiState error={queue.error} loading={queue.loading && !queue.data} empty={items.length === 0} emptyText="Nothing waits for review." />
      {items.length ? (
        <>
          <div class="row">
            <label class="check"><input type="checkbox" checked={allSelected}
              onChange={(e) => setSelected(e.currentTarget.checked ? items.map((d) => d.id) : [])} />Select all ({items.length} waiting)</label>
            <button type="button" disabled={!selected.length} onClick={() => send(selected, "accept")} data-testid="accept-selected">
              Accept {selected.length} selected
            </button>
          </div>
          <Errors messages={errors.bulk ? [errors.bulk] : []} />
          <ol class="review-queue" data-testid="review-queue">
            {items.map((d) => (
              <li class="card" data-demo={d.id} aria-labelledby={`demo-${d.id}-title`}>
                <div class="row">
                  <input type="checkbox" aria-label={`Select demonstration #${d.id}`} checked={selected.includes(d.id)}
                    onChange={(e) => setSelected(e.currentTarget.checked ? [...selected, d.id] : selected.filter((x) => x !== d.id))} />
                  <h2 id={`demo-${d.id}-title`}>#{d.id} · labeler #{d.labeler} · {fmtDate(d.created_at)}</h2>
                </div>
                <p class="prompt"><strong>Prompt:</strong> {d.prompt_text}</p>
                <pre class="demo-text">{d.text}</pre>
                <div class="row wrap">
                  <button type="button" onClick={() => send([d.id], "accept")}>Accept #{d.id}</button>
                  <label for={`comment-${d.id}`}>Comment</label>
                  <input id={`comment-${d.id}`} value={comments[d.id] ?? ""} placeholder="Why it is rejected (the labeler reads this)"
                    onInput={(e) => setComments({ ...comments, [d.id]: e.currentTarget.value })} />
                  <button type="button" class="secondary" onClick={() => send([d.id], "reject", comments[d.id] ?? "")}>Reject #{d.id}</button>
                </div>
                <Errors messages={errors[d.id] ? [errors[d.id]] : []} />
              </li>
            ))}
          </ol>
        </>
      ) : null}
    </section>
  );
}
