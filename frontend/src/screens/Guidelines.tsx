/** Guideline editor: version history, a new version from the latest, publish, and a diff between two versions. */

import { useEffect, useState } from "preact/hooks";
import { api, ApiError, rows } from "../api";
import { Markdown } from "../components/Markdown";
import { ApiState, Errors, fmtDate, useApi } from "../components/ui";
import { diffLines, diffStats } from "../logic/diff";
import { errorsFor, FieldErrors } from "../logic/errors";

/** Which tasks a guideline serves: labelers see the one for their task's kind, else the general one. */
const TASK_KINDS: Record<string, string> = { ranking: "rankings", demonstration: "demonstrations", comparison: "side-by-side comparisons" };

interface Version { id: number; number: number; body: string; changelog: string; published_at: string | null; created_at?: string }

export function Guidelines() {
  const list = useApi(async () => rows(await api.get(`/api/guidelines/`)), []);
  const [selected, setSelected] = useState<number | null>(null);
  const [name, setName] = useState("");
  const [taskKind, setTaskKind] = useState("");
  const [errors, setErrors] = useState<FieldErrors>({});
  const guidelines = list.data ?? [];
  useEffect(() => { if (selected === null && guidelines.length) setSelected(guidelines[0].id); }, [guidelines.length]);

  const create = async (e: Event) => {
    e.preventDefault();
    try {
      const g = await api.post(`/api/guidelines/`, { name, task_kind: taskKind });
      setName(""); setErrors({}); list.reload(); setSelected(g.id);
    } catch (err) { setErrors((err as ApiError).fields); }
  };

  return (
    <section class="page">
      <h1>Guidelines</h1>
      <ApiState error={list.error} loading={list.loading && !list.data} />
      <div class="row wrap">
        <label for="guideline-pick">Guideline</label>
        <select id="guideline-pick" value={selected ?? ""} onChange={(e) => setSelected(Number(e.currentTarget.value))}>
          {guidelines.map((g: any) => <option value={g.id}>{g.name}{g.task_kind ? ` (${TASK_KINDS[g.task_kind] ?? g.task_kind})` : ""}</option>)}
        </select>
        <form class="row" onSubmit={create}>
          <label for="guideline-name">New guideline</label>
          <input id="guideline-name" value={name} onInput={(e) => setName(e.currentTarget.value)} required />
          <label for="guideline-kind">for</label>
          <select id="guideline-kind" value={taskKind} onChange={(e) => setTaskKind(e.currentTarget.value)}>
            <option value="">every kind of task</option>
            {Object.entries(TASK_KINDS).map(([value, label]) => <option value={value}>{label}</option>)}
          </select>
          <button type="submit" class="secondary">Create</button>
        </form>
      </div>
      <Errors messages={errorsFor(errors, "name").concat(errorsFor(errors, "task_kind"), errors[""] ?? [])} />
      {selected ? <GuidelineVersions id={selected} key={selected} /> : null}
    </section>
  );
}

function GuidelineVersions(props: { id: number }) {
  const versions = useApi(async () => rows<Version>(await api.get(`/api/guidelines/${props.id}/versions/`)).sort((a, b) => b.number - a.number), [props.id]);
  const all = versions.data ?? [];
  const [body, setBody] = useState<string | null>(null);
  const [changelog, setChangelog] = useState("");
  const [errors, setErrors] = useState<FieldErrors>({});
  const [left, setLeft] = useState<number | null>(null);
  const [right, setRight] = useState<number | null>(null);
  // The editor starts from the newest version's text, once the versions have loaded (before they have,
  // there is nothing to start from, and an empty start would publish a guideline with its text lost).
  useEffect(() => {
    if (versions.data === null) return;
    if (all.length) { setRight(all[0].number); setLeft(all[Math.min(1, all.length - 1)].number); }
    if (body === null) setBody(all[0]?.body ?? "");
  }, [versions.data]);
  // Publishing asks first, showing what changes against the newest published version.
  const [confirming, setConfirming] = useState(false);
  const published = all.find((v) => v.published_at);

  const save = async (publish: boolean) => {
    try {
      const v = await api.post(`/api/guidelines/${props.id}/versions/`, { body: body ?? "", changelog, publish });
      if (publish && !v?.published_at && v?.id) await api.post(`/api/guideline-versions/${v.id}/publish/`);
      setChangelog(""); setErrors({}); setConfirming(false); versions.reload();
    } catch (err) { setErrors((err as ApiError).fields); setConfirming(false); }
  };
  const pending = confirming ? diffLines(published?.body ?? "", body ?? "") : [];
  const pendingStats = diffStats(pending);
  const publish = async (v: Version) => {
    try { await api.post(`/api/guideline-versions/${v.id}/publish/`); versions.reload(); } catch (err) { setErrors((err as ApiError).fields); }
  };

  const a = all.find((v) => v.number === left);
  const b = all.find((v) => v.number === right);
  const lines = a && b ? diffLines(a.body, b.body) : [];
  const stats = diffStats(lines);
  return (
    <div class="two-col">
      <section class="card" aria-labelledby="edit-title">
        <h2 id="edit-title">New version</h2>
        <label for="guideline-body">Text</label>
        <textarea id="guideline-body" rows={14} value={body ?? ""} disabled={body === null} onInput={(e) => { setBody(e.currentTarget.value); setConfirming(false); }} />
        <Errors messages={errorsFor(errors, "body")} />
        <details class="preview">
          <summary>Preview (as labelers see it)</summary>
          <Markdown source={body ?? ""} testId="guideline-preview" />
        </details>
        <label for="guideline-changelog">What changed</label>
        <input id="guideline-changelog" value={changelog} onInput={(e) => setChangelog(e.currentTarget.value)} />
        <Errors messages={errorsFor(errors, "changelog").concat(errors[""] ?? [])} />
        {confirming ? (
          <div class="confirm" role="group" aria-labelledby="confirm-title" data-testid="publish-confirm">
            <h3 id="confirm-title">Publish these changes{published ? ` to v${published.number}` : ""}?</h3>
            <p class="muted">+{pendingStats.added} −{pendingStats.removed} lines. Labelers see the new version on their next task.</p>
            <pre class="diff" aria-label="Changes to publish">
              {pending.map((l) => <div class={`diff-${l.op}`}>{l.op === "add" ? "+ " : l.op === "del" ? "− " : "  "}{l.text}</div>)}
            </pre>
            <div class="row">
              <button type="button" onClick={() => save(true)}>Confirm publish</button>
              <button type="button" class="secondary" onClick={() => setConfirming(false)}>Keep editing</button>
            </div>
          </div>
        ) : (
          <div class="row">
            <button type="button" disabled={body === null} onClick={() => setConfirming(true)}>Save and publish…</button>
            <button type="button" class="secondary" disabled={body === null} onClick={() => save(false)}>Save as draft</button>
          </div>
        )}
      </section>
      <section class="card" aria-labelledby="history-title">
        <h2 id="history-title">Version history</h2>
        <ApiState error={versions.error} loading={versions.loading && !versions.data} empty={all.length === 0} />
        <table>
          <thead><tr><th scope="col">Version</th><th scope="col">Changes</th><th scope="col">Published</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
          <tbody>
            {all.map((v) => (
              <tr>
                <td>v{v.number}</td>
                <td>{v.changelog}</td>
                <td>{v.published_at ? fmtDate(v.published_at) : "draft"}</td>
                <td>{v.published_at ? null : <button type="button" class="link-button" onClick={() => publish(v)}>Publish v{v.number}</button>}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {all.length > 1 ? (
          <>
            <h3>Compare</h3>
            <div class="row">
              <label>From <select value={left ?? ""} onChange={(e) => setLeft(Number(e.currentTarget.value))}>{all.map((v) => <option value={v.number}>v{v.number}</option>)}</select></label>
              <label>To <select value={right ?? ""} onChange={(e) => setRight(Number(e.currentTarget.value))}>{all.map((v) => <option value={v.number}>v{v.number}</option>)}</select></label>
              <span class="muted">+{stats.added} −{stats.removed} lines</span>
            </div>
            <pre class="diff" aria-label={`Changes from v${left} to v${right}`}>
              {lines.map((l) => <div class={`diff-${l.op}`}>{l.op === "add" ? "+ " : l.op === "del" ? "− " : "  "}{l.text}</div>)}
            </pre>
          </>
        ) : null}
      </section>
    </div>
  );
}
