/** Dataset snapshots: freeze a new one (kind + filter), see counts, download the JSON Lines file. */

import { useState } from "preact/hooks";
import { api, ApiError, rows } from "../api";
import { ApiState, Errors, fmtDate, useApi } from "../components/ui";
import { errorsFor, FieldErrors, otherErrors } from "../logic/errors";
import { SPLITS } from "../logic/jsonl";

export function Snapshots(props: { canFreeze: boolean }) {
  const list = useApi(async () => rows(await api.get(`/api/snapshots/?ordering=-id`)), []);
  const [kind, setKind] = useState("pairs");
  const [name, setName] = useState("");
  const [splits, setSplits] = useState<string[]>([]);
  const [minAgreement, setMinAgreement] = useState("");
  const [weighByGold, setWeighByGold] = useState(false);
  const [goldFloor, setGoldFloor] = useState("");
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);

  const freeze = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      const filters: Record<string, unknown> = {};
      if (splits.length) filters.splits = splits;
      // Sent as typed when it is not a number, so the server names the field; never dropped (issue 13, defect 8).
      const agreement = minAgreement.trim();
      if (agreement) filters.min_agreement = Number.isFinite(Number(agreement)) ? Number(agreement) : agreement;
      // Labeler weighting (issue 17): each ranking weighs max(0, 2·gold accuracy − 1); below the floor, left out.
      const floor = goldFloor.trim();
      if (weighByGold) filters.labeler_weights = floor ? { floor: Number.isFinite(Number(floor)) ? Number(floor) : floor } : {};
      await api.post(`/api/snapshots/`, { kind, name, filters });
      setErrors({});
      list.reload();
    } catch (err) {
      setErrors((err as ApiError).fields);
    } finally {
      setBusy(false);
    }
  };

  const items = list.data ?? [];
  return (
    <section class="page">
      <h1>Dataset snapshots</h1>
      {props.canFreeze ? <form class="card form-grid" onSubmit={freeze} aria-labelledby="freeze-title">
        <h2 id="freeze-title" class="span">Freeze a snapshot</h2>
        <Errors messages={otherErrors(errors, ["kind", "filters", "name"])} />
        <label for="snap-kind">Kind</label>
        <select id="snap-kind" value={kind} onChange={(e) => setKind(e.currentTarget.value)}>
          <option value="sft">sft (demonstrations)</option>
          <option value="pairs">pairs (chosen / rejected)</option>
          <option value="rankings">rankings (K-wise)</option>
        </select>
        <Errors messages={errorsFor(errors, "kind")} />
        <label for="snap-name">Name</label>
        <input id="snap-name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        <span id="snap-splits-label">Splits</span>
        <div role="group" aria-labelledby="snap-splits-label" class="row">
          {SPLITS.map((s) => (
            <label class="check"><input type="checkbox" checked={splits.includes(s)}
              onChange={(e) => setSplits(e.currentTarget.checked ? [...splits, s] : splits.filter((x) => x !== s))} />{s}</label>
          ))}
        </div>
        <label for="snap-agreement">Minimum agreement (0–1)</label>
        <div>
          <input id="snap-agreement" inputMode="decimal" value={minAgreement} onInput={(e) => setMinAgreement(e.currentTarget.value)} />
          <Errors messages={errorsFor(errors, "filters.min_agreement")} />
        </div>
        <span id="snap-weights-label">Labeler weights</span>
        <div role="group" aria-labelledby="snap-weights-label" class="row">
          <label class="check"><input type="checkbox" checked={weighByGold} onChange={(e) => setWeighByGold(e.currentTarget.checked)} />
            Weigh rankings by the labeler's gold accuracy</label>
          <label for="snap-gold-floor">Leave out below gold accuracy (0–1)</label>
          <input id="snap-gold-floor" inputMode="decimal" value={goldFloor} disabled={!weighByGold}
            onInput={(e) => setGoldFloor(e.currentTarget.value)} />
        </div>
        <Errors messages={Object.entries(errors).filter(([k]) => k.startsWith("filters") && k !== "filters.min_agreement").flatMap(([, v]) => v)} />
        <div class="row span"><button type="submit" disabled={busy}>Freeze snapshot</button></div>
      </form> : <p class="hint" data-testid="read-only">Read-only: ML engineers freeze snapshots.</p>}
      <ApiState error={list.error} loading={list.loading && !list.data} empty={items.length === 0} emptyText="No snapshots yet." />
      {items.length ? (
        <table>
          <thead><tr><th scope="col">Snapshot</th><th scope="col">Kind</th><th scope="col">Counts</th><th scope="col">Filter</th><th scope="col">Hash</th><th scope="col">Created</th><th scope="col">File</th></tr></thead>
          <tbody>
            {items.map((s: any) => (
              <tr>
                <td>#{s.id} {s.name}</td>
                <td>{s.kind}</td>
                <td>
                  {Object.entries(s.counts ?? {}).map(([k, v]) => `${k}: ${v}`).join(", ")}
                  {isEmpty(s) ? <p class="warning" data-testid={`empty-${s.id}`}>Empty: {EMPTY_HINT[s.kind] ?? "no rows"}. A job cannot train on it.</p> : null}
                </td>
                <td class="clip"><code>{JSON.stringify(s.filters ?? {})}</code></td>
                <td><code>{String(s.content_hash ?? "").slice(0, 12)}</code></td>
                <td>{fmtDate(s.created_at)}</td>
                <td><a href={s.download_url ?? `/api/snapshots/${s.id}/download/`} download data-testid={`download-${s.id}`}>Download #{s.id}</a></td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

const ROWS: Record<string, string> = { sft: "examples", pairs: "pairs", rankings: "rankings" };
const EMPTY_HINT: Record<string, string> = {
  sft: "no accepted demonstrations (accept them under Review, then freeze again)",
  pairs: "no ranked pairs yet",
  rankings: "no rankings yet",
};

function isEmpty(s: any): boolean {
  return (s.counts ?? {})[ROWS[s.kind]] === 0;
}
