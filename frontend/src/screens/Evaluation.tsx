/** Evaluation: how often each model's answers beat the baseline's (win rates with intervals), and how
 * often each reward model agrees with people's rankings (RM accuracy, from rm_accuracy jobs). */

import { api, rows } from "../api";
import { ApiState, Link, pct, useApi } from "../components/ui";

export function Evaluation() {
  const table = useApi(() => api.get(`/api/evaluations/win-rates/`), []);
  const items: any[] = rows(table.data?.rows ?? table.data);
  const accuracy = useApi(async () => rows(await api.get(`/api/jobs/?kind=evaluate&state=succeeded&ordering=-id&limit=50`))
    .filter((j: any) => j.result?.mode === "rm_accuracy"), []);
  const runs: any[] = accuracy.data ?? [];
  return (
    <section class="page">
      <h1>Evaluation</h1>
      <p class="hint">Win rate against the baseline in side-by-side comparisons; ties count half. The interval is a 95% confidence interval.</p>
      <ApiState error={table.error} loading={table.loading} empty={items.length === 0} emptyText="No evaluations yet." />
      {items.length ? (
        <table>
          <thead><tr><th scope="col">Model</th><th scope="col">Against</th><th scope="col">Judge</th><th scope="col">Win rate</th><th scope="col">95% interval</th><th scope="col">Wins / ties / losses</th></tr></thead>
          <tbody>
            {items.map((r) => (
              <tr>
                <td>{r.model_name || `#${r.model}`}</td>
                <td>{r.baseline_name || (r.baseline != null ? `#${r.baseline}` : "—")}</td>
                <td>{r.judge ?? r.source ?? "—"}</td>
                <td>{pct(r.win_rate)}</td>
                <td>{r.ci_low != null ? `${pct(r.ci_low)} – ${pct(r.ci_high)}` : r.interval ? `${pct(r.interval[0])} – ${pct(r.interval[1])}` : "—"}</td>
                <td>{[r.wins, r.ties, r.losses].map((x) => x ?? "—").join(" / ")}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <h2>Reward-model accuracy</h2>
      <p class="hint">Share of a snapshot's comparison pairs where the reward model scores the answer people preferred higher.</p>
      <ApiState error={accuracy.error} loading={accuracy.loading && !accuracy.data} empty={runs.length === 0} emptyText="No reward-model evaluations yet." />
      {runs.length ? (
        <table data-testid="rm-accuracy">
          <thead><tr><th scope="col">Reward model</th><th scope="col">Snapshot</th><th scope="col">Pair accuracy</th><th scope="col">Pairs</th><th scope="col">Job</th></tr></thead>
          <tbody>
            {runs.map((j) => (
              <tr>
                <td>#{j.result.judge}</td>
                <td>#{j.result.snapshot}</td>
                <td>{pct(j.result.accuracy)}</td>
                <td>{j.result.pairs ?? "—"}</td>
                <td><Link href={`/ml/jobs/${j.id}`}>#{j.id}</Link></td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
