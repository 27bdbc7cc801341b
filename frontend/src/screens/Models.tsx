/** Model versions with their lineage (base → SFT → RM → policy). */

import { useState } from "preact/hooks";
import { api, rows } from "../api";
import { ApiState, fmtDate, fmtNumber, Link, useApi } from "../components/ui";

export function Models() {
  const list = useApi(async () => rows(await api.get(`/api/models/?ordering=-id`)), []);
  const [selected, setSelected] = useState<number | null>(null);
  const items = list.data ?? [];
  return (
    <section class="page">
      <h1>Model versions</h1>
      <ApiState error={list.error} loading={list.loading && !list.data} empty={items.length === 0} emptyText="No models yet: launch a bootstrap job." />
      {items.length ? (
        <table>
          <thead><tr><th scope="col">Model</th><th scope="col">Kind</th><th scope="col">Parents</th><th scope="col">Job</th><th scope="col">Metrics</th><th scope="col">Created</th><th scope="col"><span class="sr-only">Lineage</span></th></tr></thead>
          <tbody>
            {items.map((m: any) => (
              <tr>
                <td>#{m.id} {m.name}</td>
                <td>{m.kind}</td>
                <td>{(m.parents ?? []).map((p: any) => `#${typeof p === "object" ? p.id : p}`).join(", ") || "—"}</td>
                <td>{m.job ? <Link href={`/ml/jobs/${typeof m.job === "object" ? m.job.id : m.job}`}>#{typeof m.job === "object" ? m.job.id : m.job}</Link> : "—"}</td>
                <td>{Object.entries(m.metrics ?? {}).slice(0, 3).map(([k, v]) => `${k} ${fmtNumber(v)}`).join(", ")}</td>
                <td>{fmtDate(m.created_at)}</td>
                <td><button type="button" class="link-button" onClick={() => setSelected(m.id)}>Lineage of #{m.id}</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      {selected ? <Lineage id={selected} key={selected} /> : null}
    </section>
  );
}

function Lineage(props: { id: number }) {
  const lineage = useApi(() => api.get(`/api/models/${props.id}/lineage/`), [props.id]);
  // The API lists the model first and its ancestors after it; show the family line base → … → model.
  const chain: any[] = [...rows(lineage.data?.lineage ?? [])].reverse();
  return (
    <section class="card" aria-labelledby="lineage-title">
      <h2 id="lineage-title">Lineage of model #{props.id}</h2>
      <ApiState error={lineage.error} loading={lineage.loading} />
      <ol class="lineage">
        {chain.map((m) => <li><strong>{m.kind}</strong> #{m.id} {m.name ?? ""}</li>)}
      </ol>
    </section>
  );
}
