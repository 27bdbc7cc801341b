/**
 * Import prompts from a JSON Lines or CSV file: preview in the browser with each bad line marked, then
 * send it; the server's own per-line errors are shown next to those lines. Prompts identical to stored
 * ones are skipped (and listed) unless the admin asks for duplicates.
 */

import { useState } from "preact/hooks";
import { api, ApiError, rows } from "../api";
import { Errors } from "../components/ui";
import { isCsv, previewCsv } from "../logic/csv";
import { CATEGORIES, previewJsonl, PreviewRow, SPLITS } from "../logic/jsonl";

/** Per-line errors from the server, whatever shape they come in, as {line: message}. */
export function serverLineErrors(body: any): Record<number, string> {
  const out: Record<number, string> = {};
  const list = body?.errors ?? body?.lines ?? body?.line_errors;
  if (Array.isArray(list)) {
    for (const e of list) {
      if (!e || e.line == null) continue;
      const message = String(e.message ?? e.error ?? e.detail ?? JSON.stringify(e.errors ?? e));
      const text = e.field ? `${e.field}: ${message}` : message;
      out[Number(e.line)] = out[Number(e.line)] ? `${out[Number(e.line)]}; ${text}` : text;
    }
  } else if (list && typeof list === "object") {
    for (const [line, msg] of Object.entries(list)) out[Number(line)] = Array.isArray(msg) ? msg.join(" ") : String(msg);
  }
  return out;
}

/** One demonstration task per newly imported prompt of the sft split; returns how many were created. */
async function askForDemonstrations(ids: number[]): Promise<number> {
  const created = new Set(ids);
  const sft = rows(await api.get(`/api/prompts/?split=sft&ordering=-id&limit=500`)).filter((p: any) => created.has(p.id));
  for (const prompt of sft) await api.post(`/api/tasks/`, { kind: "demonstration", prompt_id: prompt.id });
  return sft.length;
}

export function PromptImport() {
  const [content, setContent] = useState("");
  const [fileName, setFileName] = useState("");
  const [split, setSplit] = useState("");
  const [category, setCategory] = useState("");
  const [preview, setPreview] = useState<PreviewRow[] | null>(null);
  const [lineErrors, setLineErrors] = useState<Record<number, string>>({});
  const [errors, setErrors] = useState<string[]>([]);
  const [result, setResult] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [allowDuplicates, setAllowDuplicates] = useState(false);
  const [demonstrations, setDemonstrations] = useState(false);

  const load = async (file: File | undefined) => {
    if (!file) return;
    setFileName(file.name);
    const text = await file.text();
    setContent(text);
    setPreview(isCsv(file.name) ? previewCsv(text) : previewJsonl(text));
    setLineErrors({});
    setResult(null);
  };

  const send = async () => {
    setBusy(true);
    setErrors([]);
    setResult(null);
    try {
      const body: Record<string, unknown> = {
        content, source: fileName || "upload", format: isCsv(fileName) ? "csv" : "jsonl", allow_duplicates: allowDuplicates,
      };
      if (split) body.split = split;
      if (category) body.category = category;
      const data = await api.post(`/api/prompts/import/`, body);
      setLineErrors({});
      const skipped: { line: number }[] = data?.skipped ?? [];
      const asked = demonstrations ? await askForDemonstrations(data?.ids ?? []) : 0;
      setResult(`Imported ${data?.created ?? "the"} prompts.` + (skipped.length
        ? ` Skipped ${skipped.length} identical to prompts already stored or to an earlier line (line${skipped.length === 1 ? "" : "s"} ${skipped.map((x) => x.line).join(", ")}).`
        : "") + (demonstrations ? ` Asked labelers for ${asked} demonstration${asked === 1 ? "" : "s"}.` : ""));
    } catch (err) {
      const e = err as ApiError;
      const lines = serverLineErrors(e.body);
      setLineErrors(lines);
      setErrors(Object.keys(lines).length ? [`${Object.keys(lines).length} line(s) have errors; nothing was imported.`] : [e.message]);
    } finally {
      setBusy(false);
    }
  };

  const rowsShown = preview ?? [];
  const bad = rowsShown.filter((r) => r.error || lineErrors[r.line]).length;
  const good = rowsShown.length - bad;
  return (
    <section class="page">
      <h1>Import prompts</h1>
      <p class="hint">A JSON Lines file, one prompt per line: <code>{'{"text": …, "category": …, "split": …}'}</code> or <code>{'{"messages": [{"role": "user", "content": …}]}'}</code>; or a CSV file whose first row names the columns (<code>text,category,split</code>).</p>
      <div class="card form-grid">
        <label for="import-file">File</label>
        <input id="import-file" type="file" accept=".jsonl,.json,.txt,.csv,application/json,text/csv" onChange={(e) => load(e.currentTarget.files?.[0])} />
        <label for="import-split">Split for lines without one</label>
        <select id="import-split" value={split} onChange={(e) => setSplit(e.currentTarget.value)}>
          <option value="">(as in the file)</option>
          {SPLITS.map((s) => <option value={s}>{s}</option>)}
        </select>
        <label for="import-category">Category for lines without one</label>
        <select id="import-category" value={category} onChange={(e) => setCategory(e.currentTarget.value)}>
          <option value="">(as in the file)</option>
          {CATEGORIES.map((c) => <option value={c}>{c}</option>)}
        </select>
        <label for="import-duplicates">Import duplicates</label>
        <label class="check"><input id="import-duplicates" type="checkbox" checked={allowDuplicates}
          onChange={(e) => setAllowDuplicates(e.currentTarget.checked)} />also prompts identical to ones already stored</label>
        <label for="import-demonstrations">Demonstrations</label>
        <label class="check"><input id="import-demonstrations" type="checkbox" checked={demonstrations}
          onChange={(e) => setDemonstrations(e.currentTarget.checked)} />ask labelers to write a demonstration of each new <code>sft</code> prompt</label>
      </div>
      <Errors messages={errors} />
      {result ? <p class="notice" role="status">{result}</p> : null}
      {preview ? (
        <>
          <p role="status">{rowsShown.length} lines, {bad} with errors.</p>
          <table data-testid="import-preview">
            <caption>Preview</caption>
            <thead><tr><th scope="col">Line</th><th scope="col">Prompt</th><th scope="col">Turns</th><th scope="col">Category</th><th scope="col">Split</th><th scope="col">Error</th></tr></thead>
            <tbody>
              {rowsShown.map((r) => {
                const error = lineErrors[r.line] ?? r.error ?? null; // the server has the last word
                return (
                  <tr class={error ? "bad" : ""} data-line={r.line}>
                    <td>{r.line}</td>
                    <td class="clip">{r.text}</td>
                    <td>{r.turns || ""}</td>
                    <td>{r.category}</td>
                    <td>{r.split}</td>
                    <td class="line-error">{error ?? ""}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <div class="row">
            <button type="button" onClick={send} disabled={busy || good === 0} data-testid="import-send">Import {good} prompt{good === 1 ? "" : "s"}</button>
            {good === 0 ? <span class="muted">No line can be imported; fix the file and choose it again.</span> : null}
          </div>
        </>
      ) : null}
    </section>
  );
}
