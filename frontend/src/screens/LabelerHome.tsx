/** The labeler's start page: get the next ranking or demonstration task. */

import { useEffect, useState } from "preact/hooks";
import { api, ApiError } from "../api";
import { Errors, useApi } from "../components/ui";
import { labeling, workPath } from "../labelingApi";
import { navigate } from "../router";

const DONE: Record<string, string> = {
  ranking: "Ranking submitted. Thank you!",
  demonstration: "Demonstration submitted. Thank you!",
  skip: "Task skipped.",
};

export function LabelerHome() {
  const [message, setMessage] = useState<string | null>(DONE[new URLSearchParams(location.search).get("done") ?? ""] ?? null);
  const [errors, setErrors] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const summary = useApi(() => api.get(`/api/work/summary/`), []);
  const n = summary.data;
  // A sampling job still generating answers: say that ranking tasks are coming, and look again.
  const preparing = useApi(() => api.get(`/api/work-in-preparation/`), []);
  const coming = preparing.data?.sampling_jobs > 0;
  useEffect(() => {
    if (!coming) return;
    const t = setTimeout(() => { preparing.reload(); summary.reload(); }, 5000);
    return () => clearTimeout(t);
  }, [preparing.data]);

  const start = async (kind: "ranking" | "demonstration") => {
    setBusy(true);
    setErrors([]);
    try {
      const item = await labeling.next(kind);
      if (!item) {
        setMessage(kind === "ranking" ? "No ranking tasks are waiting for you right now." : "No demonstration tasks are waiting for you right now.");
        return;
      }
      navigate(workPath(item));
    } catch (err) {
      setErrors([err instanceof ApiError ? err.message : String(err)]);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="page narrow">
      <h1>Start working</h1>
      {message ? <p class="notice" role="status">{message}</p> : null}
      {coming ? (
        <p class="notice" role="status" data-testid="work-coming">
          New ranking tasks are being prepared: answers are being generated
          ({Math.round(preparing.data.progress * 100)}% done). This page checks again every few seconds.
        </p>
      ) : null}
      <Errors messages={errors} />
      {n ? (
        <dl class="figures" data-testid="work-summary">
          <div><dt>Rankings waiting</dt><dd>{n.rankings_waiting}</dd></div>
          <div><dt>Demonstrations waiting</dt><dd>{n.demonstrations_waiting}</dd></div>
          <div><dt>Done today</dt><dd>{n.done_today}</dd></div>
        </dl>
      ) : null}
      <div class="tiles">
        <button type="button" class="tile" disabled={busy} onClick={() => start("ranking")} data-testid="start-ranking">
          <strong>Rank answers</strong>
          <span>Order several answers to a prompt from best to worst.</span>
        </button>
        <button type="button" class="tile" disabled={busy} onClick={() => start("demonstration")} data-testid="start-demonstration">
          <strong>Write demonstrations</strong>
          <span>Write the ideal answer to a prompt.</span>
        </button>
      </div>
    </section>
  );
}
