/** The evaluation win-rate table: how often each model's answers beat the baseline's, with intervals. */

import { api, rows } from "../api";
import { ApiState, pct, useApi } from "../components/ui";

export function Evaluation() {
  const table = useApi(() => api.get(`/api/evaluations/win-rates/`), []);
  const items: any[] = rows(table.data?.rows ?? table.data);
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
    </section>
  );
}
