/** The labeler's own submitted work and how often they agree with other labelers and gold tasks. */

import { api, Me, rows } from "../api";
import { ApiState, fmtDate, pct, useApi } from "../components/ui";

export function History(props: { me: Me }) {
  const history = useApi(() => api.get(`/api/work/history/`), []);
  const agreement = useApi(() => api.get(`/api/agreement/me/`).catch(() => null), []);
  const items = rows(history.data);
  const figures = agreement.data;
  return (
    <section class="page">
      <h1>My history</h1>
      <section class="card" aria-labelledby="agreement-title">
        <h2 id="agreement-title">Agreement</h2>
        {figures ? (
          <dl class="figures">
            <div><dt>With other labelers</dt><dd data-testid="peer-agreement">{pct(figures.peer_agreement)}</dd></div>
            <div><dt>Pairs compared with others</dt><dd>{figures.peer_pairs ?? 0}</dd></div>
            <div><dt>With gold tasks</dt><dd>{pct(figures.gold_agreement)}</dd></div>
            <div><dt>Gold pairs</dt><dd>{figures.gold_pairs ?? 0}</dd></div>
          </dl>
        ) : <p class="muted">No agreement figures yet for {props.me.username}.</p>}
        <p class="hint">Agreement is the share of answer pairs you ordered the same way as another labeler (or the gold ranking): better, worse or tied.</p>
      </section>
      {history.data?.counts ? (
        <dl class="figures" aria-label="My counts">
          <div><dt>Rankings</dt><dd>{history.data.counts.rankings ?? 0}</dd></div>
          <div><dt>Demonstrations</dt><dd>{history.data.counts.demonstrations ?? 0}</dd></div>
          <div><dt>Accepted demonstrations</dt><dd>{history.data.counts.demonstrations_accepted ?? 0}</dd></div>
          <div><dt>Skipped</dt><dd>{history.data.counts.skipped ?? 0}</dd></div>
        </dl>
      ) : null}
      <ApiState error={history.error} loading={history.loading} empty={items.length === 0} emptyText="You have not submitted anything yet." />
      {items.length ? (
        <table>
          <caption>Submitted work, newest first</caption>
          <thead><tr><th scope="col">When</th><th scope="col">Kind</th><th scope="col">Prompt</th><th scope="col">State</th><th scope="col">Seconds</th></tr></thead>
          <tbody>
            {items.map((h: any) => (
              <tr>
                <td>{fmtDate(h.completed_at ?? h.created_at ?? h.submitted_at)}</td>
                <td>{h.kind ?? h.task_kind}</td>
                <td class="clip">{h.prompt_text ?? h.prompt?.text ?? h.prompt ?? ""}</td>
                <td>{h.state ?? h.review_state ?? ""}</td>
                <td>{h.seconds_spent != null ? Math.round(h.seconds_spent) : "—"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}
