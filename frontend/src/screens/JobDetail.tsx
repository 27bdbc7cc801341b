/** One job: state, live progress, loss / reward / KL curves, log tail, cancel. */

import { useEffect, useState } from "preact/hooks";
import { api, ApiError, rows } from "../api";
import { LineChart } from "../components/chart";
import { metricCharts } from "../logic/metrics";
import { ApiState, Errors, fmtDate, Link, useApi } from "../components/ui";

const FINISHED = ["succeeded", "failed", "cancelled"];

export function JobDetail(props: { id: number; canCancel: boolean }) {
  const job = useApi(() => api.get(`/api/jobs/${props.id}/`), [props.id]);
  const metrics = useApi(async () => rows(await api.get(`/api/jobs/${props.id}/metrics/`).catch(() => job.data?.metrics ?? [])), [props.id]);
  const [errors, setErrors] = useState<string[]>([]);
  const j = job.data;
  const done = j && FINISHED.includes(j.state);
  useEffect(() => {
    if (!j || done) return;
    const t = setTimeout(() => { job.reload(); metrics.reload(); }, 1500);
    return () => clearTimeout(t);
  }, [j]);

  const cancel = async () => {
    try { await api.post(`/api/jobs/${props.id}/cancel/`); job.reload(); } catch (err) { setErrors([(err as ApiError).message]); }
  };
  const series = rows(metrics.data ?? j?.metrics ?? []);
  const charts = metricCharts(series as any);
  return (
    <section class="page">
      <p><Link href="/ml/jobs">← All jobs</Link></p>
      <h1>Job #{props.id} {j ? `— ${j.kind}` : ""}</h1>
      <ApiState error={job.error} loading={job.loading && !j} />
      {j ? (
        <>
          <dl class="figures">
            <div><dt>State</dt><dd><span class={`state state-${j.state}`} data-testid="job-state">{j.state}</span></dd></div>
            <div><dt>Progress</dt><dd><progress max={1} value={Number(j.progress ?? 0)} aria-label="Progress" /> {Math.round(100 * Number(j.progress ?? 0))}%</dd></div>
            <div><dt>Started</dt><dd>{fmtDate(j.started_at)}</dd></div>
            <div><dt>Finished</dt><dd>{fmtDate(j.finished_at)}</dd></div>
            <div><dt>Worker</dt><dd>{j.worker_host || "—"}</dd></div>
            <div><dt>Attempts</dt><dd>{j.attempts ?? "—"}</dd></div>
          </dl>
          {!done && props.canCancel ? <button type="button" class="danger" onClick={cancel} disabled={j.cancel_requested}>{j.cancel_requested ? "Cancelling…" : "Cancel job"}</button> : null}
          <Errors messages={errors} />
          {j.error ? <Errors messages={[`Failed: ${j.error}`]} /> : null}
          <div class="charts">
            {charts.length ? charts.map((c) => <LineChart title={c.title} series={c.series} testId={`chart-${c.title.toLowerCase()}`} />)
              : <p class="muted">No metrics yet.</p>}
          </div>
          <details>
            <summary>Config</summary>
            <pre>{JSON.stringify(j.config, null, 2)}</pre>
          </details>
          {j.result && Object.keys(j.result).length ? <details open><summary>Result</summary><pre>{JSON.stringify(j.result, null, 2)}</pre></details> : null}
          {j.log_tail ? <details><summary>Log</summary><pre class="log">{j.log_tail}</pre></details> : null}
        </>
      ) : null}
    </section>
  );
}
