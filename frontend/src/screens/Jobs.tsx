/** Jobs: a launch form built from the engine's config schema, and the list of jobs with live progress. */

import { useEffect, useState } from "preact/hooks";
import { api, ApiError, rows } from "../api";
import { ApiState, Errors, fmtDate, Link, useApi } from "../components/ui";
import { coerceConfig, FormField, formFields, initialText, presetValues } from "../logic/configForm";
import { preselect } from "../logic/launchInputs";
import { errorsFor, FieldErrors, otherErrors } from "../logic/errors";
import { navigate } from "../router";

export const JOB_KINDS = ["bootstrap", "sft", "rm", "ppo", "dpo", "bon", "sample", "evaluate"];

export function Jobs(props: { canLaunch: boolean }) {
  const jobs = useApi(async () => rows(await api.get(`/api/jobs/?ordering=-id&limit=50`)), []);
  useEffect(() => {
    const running = (jobs.data ?? []).some((j: any) => j.state === "queued" || j.state === "running");
    if (!running) return;
    const t = setTimeout(jobs.reload, 2000);
    return () => clearTimeout(t);
  }, [jobs.data]);
  return (
    <section class="page">
      <h1>Jobs</h1>
      {props.canLaunch
        ? <LaunchForm onLaunched={(id) => navigate(`/ml/jobs/${id}`)} />
        : <p class="hint" data-testid="read-only">Read-only: ML engineers launch and cancel jobs.</p>}
      <h2>Recent jobs</h2>
      <ApiState error={jobs.error} loading={jobs.loading && !jobs.data} empty={(jobs.data ?? []).length === 0} emptyText="No jobs yet." />
      {(jobs.data ?? []).length ? (
        <table data-testid="jobs">
          <thead><tr><th scope="col">Job</th><th scope="col">Kind</th><th scope="col">State</th><th scope="col">Progress</th><th scope="col">Started</th><th scope="col">Finished</th></tr></thead>
          <tbody>
            {(jobs.data ?? []).map((j: any) => (
              <tr>
                <td><Link href={`/ml/jobs/${j.id}`}>#{j.id}</Link></td>
                <td>{j.kind}</td>
                <td><span class={`state state-${j.state}`}>{j.state}</span></td>
                <td><progress max={1} value={Number(j.progress ?? 0)} aria-label={`Job ${j.id} progress`} /> {Math.round(100 * Number(j.progress ?? 0))}%</td>
                <td>{fmtDate(j.started_at)}</td>
                <td>{fmtDate(j.finished_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

function LaunchForm(props: { onLaunched: (id: number) => void }) {
  const schema = useApi(() => api.get(`/api/jobs/config-schema/`), []);
  const snapshots = useApi(async () => rows(await api.get(`/api/snapshots/?limit=100`).catch(() => [])), []);
  const models = useApi(async () => rows(await api.get(`/api/models/?limit=100`).catch(() => [])), []);
  const [kind, setKind] = useState("bootstrap");
  const [name, setName] = useState("");
  const [values, setValues] = useState<Record<string, string | boolean>>({});
  const [snapshotIds, setSnapshotIds] = useState<string[]>([]);
  const [modelIds, setModelIds] = useState<string[]>([]);
  // Preselect the newest inputs of the kinds this job takes, again whenever the kind changes.
  useEffect(() => {
    const picked = preselect(kind, snapshots.data ?? [], models.data ?? [], String(values.mode ?? "rm_accuracy"));
    setSnapshotIds(picked.snapshots.map(String));
    setModelIds(picked.models.map(String));
  }, [kind, snapshots.data, models.data, values.mode]);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);

  const kinds = schema.data ? Object.keys(schema.data.kinds ?? schema.data).filter((k) => JOB_KINDS.includes(k)) : JOB_KINDS;
  const kindSchema = schema.data ? (schema.data.kinds ?? schema.data)[kind] : null;
  const fields: FormField[] = kindSchema ? formFields(kindSchema) : [];

  const launch = async (e: Event) => {
    e.preventDefault();
    const { config, errors: local } = coerceConfig(fields, values);
    const localErrors: FieldErrors = Object.fromEntries(Object.entries(local).map(([k, v]) => [`config.${k}`, [v]]));
    setErrors(localErrors);
    if (Object.keys(localErrors).length) return;
    setBusy(true);
    try {
      const job = await api.post(`/api/jobs/`, {
        kind, name, config, input_snapshots: snapshotIds.map(Number), input_models: modelIds.map(Number),
      });
      props.onLaunched(job.id);
    } catch (err) {
      setErrors((err as ApiError).fields);
    } finally {
      setBusy(false);
    }
  };

  // Launch only once the schema and the inputs to preselect have loaded: a click before then would
  // send a form the user has not seen filled.
  const ready = Boolean(kindSchema) && snapshots.data !== null && models.data !== null;
  const multi = (e: Event) => Array.from((e.currentTarget as HTMLSelectElement).selectedOptions).map((o) => o.value);
  return (
    <form class="card" onSubmit={launch} aria-labelledby="launch-title" data-testid="launch-form">
      <h2 id="launch-title">Launch a job</h2>
      <Errors messages={otherErrors(errors, ["config", "kind", "name", "input_snapshots", "input_models"])} />
      <ApiState error={schema.error} loading={schema.loading} />
      <div class="form-grid">
        <label for="job-kind">Kind</label>
        <select id="job-kind" value={kind} onChange={(e) => { setKind(e.currentTarget.value); setValues({}); setErrors({}); }}>
          {kinds.map((k) => <option value={k}>{k}</option>)}
        </select>
        <Errors messages={errorsFor(errors, "kind")} />
        <label for="job-name">Name</label>
        <input id="job-name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
        <Errors messages={errorsFor(errors, "name")} />
        {kindSchema?.inputs ? <p class="hint span" id="job-inputs-help">Inputs: {kindSchema.inputs}</p> : null}
        <label for="job-snapshots">Input datasets</label>
        <select id="job-snapshots" multiple size={3} onChange={(e) => setSnapshotIds(multi(e))}>
          {(snapshots.data ?? []).map((s: any) => <option value={s.id} selected={snapshotIds.includes(String(s.id))}>#{s.id} {s.kind} {s.name ?? ""} ({snapshotSize(s)})</option>)}
        </select>
        <Errors messages={errorsFor(errors, "input_snapshots")} />
        <label for="job-models">Input models</label>
        <select id="job-models" multiple size={3} onChange={(e) => setModelIds(multi(e))}>
          {(models.data ?? []).map((m: any) => <option value={m.id} selected={modelIds.includes(String(m.id))}>#{m.id} {m.kind} {m.name ?? ""}</option>)}
        </select>
        <Errors messages={errorsFor(errors, "input_models")} />
      </div>
      <fieldset class="form-grid config">
        <legend>Config ({kind})</legend>
        {fields.map((f) => {
          const id = `cfg-${f.name}`;
          const value = values[f.name];
          return (
            <>
              <label for={id}>{f.name}{f.required ? " *" : ""}</label>
              <div>
                {f.type === "bool" ? (
                  <input id={id} type="checkbox" checked={value === undefined ? Boolean(f.default) : Boolean(value)} aria-describedby={f.help ? `${id}-help` : undefined}
                    onChange={(e) => setValues({ ...values, [f.name]: e.currentTarget.checked })} />
                ) : f.type === "choice" ? (
                  <select id={id} value={value === undefined ? initialText(f) : String(value)} aria-describedby={f.help ? `${id}-help` : undefined}
                    onChange={(e) => {
                      const chosen = e.currentTarget.value;
                      // A preset (PPO's "instructgpt") fills in its values, so the form shows what will be sent.
                      const preset = f.name === "preset" ? presetValues(fields, kindSchema?.presets?.[chosen]) : {};
                      setValues({ ...values, ...preset, [f.name]: chosen });
                    }}>
                    {f.choices.map((c) => <option value={c}>{c}</option>)}
                  </select>
                ) : (
                  <input id={id} name={f.name} value={value === undefined ? initialText(f) : String(value)} inputMode={f.type === "int" || f.type === "float" ? "decimal" : undefined}
                    onInput={(e) => setValues({ ...values, [f.name]: e.currentTarget.value })} aria-describedby={f.help ? `${id}-help` : undefined} />
                )}
                {f.help ? <small id={`${id}-help`} class="muted">{f.help}</small> : null}
                <Errors messages={errorsFor(errors, `config.${f.name}`)} />
              </div>
            </>
          );
        })}
      </fieldset>
      <Errors messages={errorsFor(errors, "config").filter((m) => !fields.some((f) => errorsFor(errors, `config.${f.name}`).includes(m)))} />
      <div class="row"><button type="submit" disabled={busy || !ready} data-testid="launch">Launch {kind} job</button></div>
    </form>
  );
}

/** "12 examples", "40 rankings": the size of a snapshot as its counts say it. */
function snapshotSize(s: any): string {
  const counts = s.counts ?? {};
  for (const key of ["examples", "rankings", "pairs"]) if (key in counts) return `${counts[key]} ${key}`;
  return "";
}
