/**
 * Spending labels where they count (admins): each labeler's accuracy on gold with its 95% interval and
 * the weight a weighted snapshot gives their rankings; the re-queue rules per task batch (a task whose
 * labels disagree asks for one more labeler, up to a cap) and every re-queue they made.
 */

import { useState } from "preact/hooks";
import { api, ApiError, rows } from "../api";
import { ApiState, Errors, fmtDate, fmtNumber, pct, useApi } from "../components/ui";
import { errorsFor, FieldErrors, otherErrors } from "../logic/errors";
// The hidden-preference experiment's plots (experiments/hidden_preference/label_efficiency.py --docs),
// bundled from docs/ at build time so the page needs no endpoint.
import labelEfficiencySvg from "../../../docs/label_efficiency.svg?url";
import noisyCrowdSvg from "../../../docs/noisy_crowd.svg?url";

/** A typed number, or the text itself when it is not one (the server then names the field). */
const numberOrText = (value: string) => (value.trim() !== "" && Number.isFinite(Number(value)) ? Number(value) : value);

function GoldAccuracy() {
  const [estimate, setEstimate] = useState("accuracy");
  const [floor, setFloor] = useState("");
  const query = new URLSearchParams({ estimate, ...(floor.trim() ? { floor: floor.trim() } : {}) }).toString();
  const gold = useApi(() => api.get(`/api/quality/gold/?${query}`), [query]);
  const labelers: any[] = gold.data?.labelers ?? [];
  return (
    <>
      <h2>Labelers on gold</h2>
      <div class="row">
        <label for="gold-estimate">Weight from</label>
        <select id="gold-estimate" value={estimate} onChange={(e) => setEstimate(e.currentTarget.value)}>
          <option value="accuracy">accuracy</option>
          <option value="wilson_low">interval's lower bound</option>
        </select>
        <label for="gold-floor">Floor (0–1)</label>
        <input id="gold-floor" inputMode="decimal" value={floor} onInput={(e) => setFloor(e.currentTarget.value)} />
      </div>
      <ApiState error={gold.error} loading={gold.loading} empty={!labelers.length} emptyText="No rankings of gold tasks yet." />
      {labelers.length ? (
        <table data-testid="gold-table">
          <caption>Pairwise accuracy on gold tasks, 95% Wilson interval; weight = max(0, 2·estimate − 1)</caption>
          <thead><tr><th scope="col">Labeler</th><th scope="col">Gold pairs</th><th scope="col">Accuracy</th>
            <th scope="col">95% interval</th><th scope="col">Weight</th><th scope="col">Below floor</th></tr></thead>
          <tbody>
            {labelers.map((l) => (
              <tr>
                <td>{l.username || `#${l.labeler}`}</td>
                <td>{l.gold_pairs}</td>
                <td>{pct(l.accuracy)}</td>
                <td>{pct(l.interval_low)} – {pct(l.interval_high)}</td>
                <td>{fmtNumber(l.weight, 2)}</td>
                <td>{l.below_floor ? "yes (left out of a snapshot with this floor)" : ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </>
  );
}

function RequeueRules() {
  const rules = useApi(async () => rows(await api.get(`/api/quality/requeue-rules/`)), []);
  const requeues = useApi(async () => rows(await api.get(`/api/quality/requeues/?limit=50`)), []);
  const [batch, setBatch] = useState("");
  const [minAgreement, setMinAgreement] = useState("0.6");
  const [cap, setCap] = useState("3");
  const [errors, setErrors] = useState<FieldErrors>({});

  const act = async (call: () => Promise<unknown>) => {
    try {
      await call();
      setErrors({});
      rules.reload();
    } catch (err) {
      setErrors((err as ApiError).fields);
    }
  };
  const add = (e: Event) => {
    e.preventDefault();
    act(() => api.post(`/api/quality/requeue-rules/`,
      { batch, min_agreement: numberOrText(minAgreement), max_labelers: numberOrText(cap) }));
  };

  return (
    <>
      <h2>Re-queue on disagreement</h2>
      <form class="card form-grid" onSubmit={add} aria-labelledby="requeue-title">
        <h3 id="requeue-title" class="span">Add a rule for a batch of tasks</h3>
        <Errors messages={otherErrors(errors, ["batch", "min_agreement", "max_labelers"])} />
        <label for="rq-batch">Batch</label>
        <input id="rq-batch" value={batch} placeholder="e.g. sample-job-12" onInput={(e) => setBatch(e.currentTarget.value)} />
        <Errors messages={errorsFor(errors, "batch")} />
        <label for="rq-agreement">Re-queue below agreement (0–1)</label>
        <input id="rq-agreement" inputMode="decimal" value={minAgreement} onInput={(e) => setMinAgreement(e.currentTarget.value)} />
        <Errors messages={errorsFor(errors, "min_agreement")} />
        <label for="rq-cap">At most this many labelers per task</label>
        <input id="rq-cap" inputMode="numeric" value={cap} onInput={(e) => setCap(e.currentTarget.value)} />
        <Errors messages={errorsFor(errors, "max_labelers")} />
        <button type="submit" class="span">Add rule</button>
      </form>
      <ApiState error={rules.error} loading={rules.loading} empty={!(rules.data ?? []).length} emptyText="No re-queue rules." />
      {(rules.data ?? []).length ? (
        <table data-testid="requeue-rules">
          <thead><tr><th scope="col">Batch</th><th scope="col">Below agreement</th><th scope="col">Cap</th>
            <th scope="col">Re-queues</th><th scope="col">On</th><th scope="col"></th></tr></thead>
          <tbody>
            {(rules.data ?? []).map((r: any) => (
              <tr>
                <td>{r.batch || "(no batch)"}</td>
                <td>{pct(r.min_agreement)}</td>
                <td>{r.max_labelers}</td>
                <td>{r.requeues}</td>
                <td><input type="checkbox" aria-label={`re-queue on for ${r.batch || "no batch"}`} checked={r.enabled}
                  onChange={(e) => act(() => api.patch(`/api/quality/requeue-rules/${r.id}/`, { enabled: e.currentTarget.checked }))} /></td>
                <td><button type="button" onClick={() => act(() => api.del(`/api/quality/requeue-rules/${r.id}/`))}>Delete</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <h3>Latest re-queues</h3>
      <ApiState error={requeues.error} loading={requeues.loading} empty={!(requeues.data ?? []).length} emptyText="No task re-queued yet." />
      {(requeues.data ?? []).length ? (
        <table data-testid="requeues">
          <thead><tr><th scope="col">Task</th><th scope="col">Batch</th><th scope="col">Agreement</th>
            <th scope="col">Labelers</th><th scope="col">When</th></tr></thead>
          <tbody>
            {(requeues.data ?? []).map((q: any) => (
              <tr>
                <td>#{q.task}</td>
                <td>{q.batch || "(no batch)"}</td>
                <td>{pct(q.agreement)} (below {pct(q.min_agreement)})</td>
                <td>{q.labelers_before} → {q.labelers_after} (cap {q.max_labelers})</td>
                <td>{fmtDate(q.created_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </>
  );
}

function ExperimentPlots() {
  return (
    <>
      <h2>Does it pay? The hidden-preference experiment</h2>
      <p>Reward-model accuracy against the hidden gold rule: labelling the most uncertain tasks first vs a
        random order, and a crowd in which one labeler of three is noise, with and without weights from gold.</p>
      <img src={labelEfficiencySvg} alt="Reward-model accuracy vs rankings collected, uncertainty vs random order" width={760} />
      <img src={noisyCrowdSvg} alt="Reward-model accuracy for a clean crowd and a noisy crowd without and with labeler weights" width={760} />
    </>
  );
}

export function Quality() {
  return (
    <section class="page">
      <h1>Label quality</h1>
      <GoldAccuracy />
      <RequeueRules />
      <ExperimentPlots />
    </section>
  );
}
