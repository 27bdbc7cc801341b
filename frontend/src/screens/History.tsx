/** The labeler's own submitted work and how often they agree with other labelers and gold tasks. */

import { useState } from "preact/hooks";
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
            {items.map((h: any) => <HistoryRow key={h.id} item={h} />)}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

/** One submitted assignment; clicking its prompt opens what was submitted (the ranking in rank order
 * with scores and flags, or the demonstration with its review). */
function HistoryRow(props: { item: any }) {
  const h = props.item;
  const [open, setOpen] = useState(false);
  const canOpen = Boolean(h.ranking || h.demonstration);
  return (
    <>
      <tr data-testid={`history-${h.id}`}>
        <td>{fmtDate(h.completed_at ?? h.created_at)}</td>
        <td>{h.kind}</td>
        <td class="clip">
          {canOpen
            ? <button type="button" class="link-button" aria-expanded={open} onClick={() => setOpen(!open)}>{h.prompt_text}</button>
            : h.prompt_text}
        </td>
        <td>{h.state}{h.skip_reason ? ` (${h.skip_reason})` : ""}</td>
        <td>{h.seconds_spent != null ? Math.round(h.seconds_spent) : "—"}</td>
      </tr>
      {open ? <tr><td colSpan={5}><Submitted item={h} /></td></tr> : null}
    </>
  );
}

function Submitted(props: { item: any }) {
  const h = props.item;
  const detail = useApi(async () => {
    if (h.demonstration) return { demonstration: await api.get(`/api/demonstrations/${h.demonstration}/`) };
    const [assignment, ranking] = await Promise.all([api.get(`/api/assignments/${h.id}/`), api.get(`/api/rankings/${h.ranking}/`)]);
    return { assignment, ranking };
  }, [h.id]);
  const d = detail.data;
  if (!d) return <ApiState error={detail.error} loading={detail.loading} />;
  if (d.demonstration) {
    const demo = d.demonstration;
    return (
      <div class="submitted" data-testid="submitted">
        <p class="pre">{demo.text}</p>
        <p class="muted">Review: {demo.review_state}{demo.review_comment ? ` — ${demo.review_comment}` : ""}</p>
      </div>
    );
  }
  const texts: Record<number, string> = Object.fromEntries(d.assignment.responses.map((r: any) => [r.id, r.text]));
  const ranking = d.ranking;
  return (
    <div class="submitted" data-testid="submitted">
      {ranking.all_bad ? <p class="muted">Marked all answers bad.</p> : null}
      {ranking.unrankable ? <p class="muted">Marked unrankable.</p> : null}
      <ol>
        {ranking.ranks.map((r: any) => (
          <li data-rank={r.rank}>
            <strong>Rank {r.rank}</strong>{r.score != null ? ` · score ${r.score}` : ""}{r.flags?.length ? ` · ${r.flags.join(", ")}` : ""}
            <div class="pre">{texts[r.response] ?? ""}</div>
          </li>
        ))}
      </ol>
      {ranking.comment ? <p class="muted">Comment: {ranking.comment}</p> : null}
    </div>
  );
}
