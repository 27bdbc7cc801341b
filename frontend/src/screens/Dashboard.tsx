/**
 * Admin progress dashboard: tasks done, demonstrations and rankings, per-labeler throughput and
 * agreement, position and length bias, and recent submissions per day. Built from the list and
 * quality endpoints (counts come from paginated lists' `count`).
 */

import { useEffect } from "preact/hooks";
import { api, rows } from "../api";
import { BarList } from "../components/chart";
import { ApiState, Link, pct, useApi } from "../components/ui";
import { dailyCounts } from "../logic/metrics";

const count = (path: string) => api.get(path).then((d) => (typeof d?.count === "number" ? d.count : rows(d).length));

export function Dashboard() {
  const figures = useApi(async () => {
    const [tasks, done, demos, awaiting, rankings] = await Promise.all([
      count(`/api/tasks/?limit=1`), count(`/api/tasks/?complete=true&limit=1`),
      count(`/api/demonstrations/?limit=1`), count(`/api/demonstrations/?review_state=submitted&limit=1`),
      count(`/api/rankings/?limit=1`),
    ]);
    return { tasks, done, demos, awaiting, rankings };
  }, []);
  const agreement = useApi(() => api.get(`/api/quality/agreement/`), []);
  const bias = useApi(() => api.get(`/api/quality/bias/`), []);
  const recent = useApi(async () => rows(await api.get(`/api/rankings/?limit=500&ordering=-id`)), []);

  const f = figures.data;
  const labelers: any[] = agreement.data?.labelers ?? [];
  const perDay = dailyCounts(recent.data ?? [], "created_at");
  return (
    <section class="page">
      <h1>Progress</h1>
      <SamplingJobs />
      <ApiState error={figures.error} loading={figures.loading} />
      {f ? (
        <dl class="figures">
          <div><dt>Tasks done</dt><dd data-testid="tasks-done">{f.done} / {f.tasks}</dd></div>
          <div><dt>Rankings</dt><dd>{f.rankings}</dd></div>
          <div><dt>Demonstrations</dt><dd>{f.demos}</dd></div>
          <div><dt>Awaiting review</dt><dd>{f.awaiting ? <Link href="/manage/review">{f.awaiting}</Link> : f.awaiting}</dd></div>
          <div><dt>Agreement between labelers</dt><dd>{pct(agreement.data?.overall)}</dd></div>
          <div><dt>Agreement with gold</dt><dd>{pct(agreement.data?.gold_agreement)}</dd></div>
        </dl>
      ) : null}
      <div class="two-col">
        <BarList title="Rankings per labeler" rows={labelers.map((l) => ({ label: l.username || `#${l.labeler}`, value: Number(l.rankings ?? 0) }))} />
        <BarList title="Agreement with other labelers" max={1}
          rows={labelers.filter((l) => l.peer_agreement != null).map((l) => ({
            label: l.username || `#${l.labeler}`, value: Number(l.peer_agreement), text: pct(l.peer_agreement),
          }))} />
      </div>
      <ApiState error={agreement.error} loading={false} />
      <BarList title="Rankings per day (latest 500 rankings, last 14 days shown)"
        rows={perDay.slice(-14).map((d) => ({ label: d.day, value: d.count }))} />
      <h2>Bias</h2>
      <ApiState error={bias.error} loading={bias.loading} />
      {bias.data ? (
        <table>
          <caption>How often the answer shown first is ranked best (against chance), and the longer answer is preferred</caption>
          <thead><tr><th scope="col">Labeler</th><th scope="col">Rankings</th><th scope="col">First shown is best</th><th scope="col">By chance</th><th scope="col">Longer preferred</th></tr></thead>
          <tbody>
            {[{ username: "Everyone", ...bias.data.overall }, ...(bias.data.labelers ?? [])].map((b: any) => (
              <tr>
                <td>{b.username || `#${b.labeler}`}</td>
                <td>{b.rankings}</td>
                <td>{pct(b.first_shown_best)}</td>
                <td>{pct(b.first_shown_best_by_chance)}</td>
                <td>{pct(b.longer_preferred)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

/** Sampling jobs still making ranking tasks (the demo's first one takes minutes), with their progress,
 * so an empty queue has a visible reason. */
function SamplingJobs() {
  const jobs = useApi(async () => rows(await api.get(`/api/jobs/?kind=sample&ordering=-id&limit=10`))
    .filter((j: any) => j.state === "queued" || j.state === "running"), []);
  useEffect(() => {
    if (!(jobs.data ?? []).length) return;
    const t = setTimeout(jobs.reload, 3000);
    return () => clearTimeout(t);
  }, [jobs.data]);
  const active = jobs.data ?? [];
  if (!active.length) return null;
  return (
    <section class="card" aria-labelledby="sampling-title" data-testid="sampling-jobs">
      <h2 id="sampling-title">Answers being sampled</h2>
      <ul>
        {active.map((j: any) => (
          <li>
            Job #{j.id} {j.name ? `(${j.name})` : ""}: {j.state}{" "}
            <progress max={1} value={Number(j.progress ?? 0)} aria-label={`Sampling job ${j.id} progress`} /> {Math.round(100 * Number(j.progress ?? 0))}%
            {" "}— its ranking tasks appear when it finishes.
          </li>
        ))}
      </ul>
    </section>
  );
}
