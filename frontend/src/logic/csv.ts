/**
 * Preview of a CSV prompt file, as the server reads it (labeling/prompt_import.py): a header row naming
 * the columns (`text` required, or `prompt`), then one prompt per row; quoted fields may
 * hold commas, doubled quotes and line breaks. Each row is checked like a JSON Lines record.
 */

import { checkLine, PreviewRow } from "./jsonl";

/** Records of a CSV text with the line each starts on; an unterminated quote is an error. */
export function parseCsv(content: string): { rows: { line: number; cells: string[] }[]; error: string | null } {
  const rows: { line: number; cells: string[] }[] = [];
  let cells: string[] = [];
  let cell = "";
  let quoted = false;
  let line = 1;
  let start = 1;
  const text = content.replace(/^\uFEFF/, "");
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { cell += '"'; i++; }
      else if (c === '"') quoted = false;
      else { if (c === "\n") line++; cell += c; }
    } else if (c === '"' && cell === "") quoted = true;
    else if (c === ",") { cells.push(cell); cell = ""; }
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      cells.push(cell); cell = "";
      if (cells.some((x) => x !== "")) rows.push({ line: start, cells });
      cells = []; line++; start = line;
    } else cell += c;
  }
  if (quoted) return { rows, error: `line ${start}: a quoted field is not closed` };
  cells.push(cell);
  if (cells.some((x) => x !== "")) rows.push({ line: start, cells });
  return { rows, error: null };
}

export function previewCsv(content: string): PreviewRow[] {
  const { rows, error } = parseCsv(content);
  const fail = (line: number, message: string): PreviewRow => ({ line, text: "", category: "", split: "", turns: 0, error: message });
  if (error) return [fail(1, `Not valid CSV: ${error}.`)];
  const [header, ...records] = rows;
  const names = header ? header.cells.map((h) => h.trim()) : [];
  if (!names.some((n) => ["text", "prompt", "messages"].includes(n))) return [fail(1, "The first CSV row must name the columns, including `text`.")];
  return records.map(({ line, cells }) => {
    if (cells.length > names.length) return fail(line, "More values than header columns.");
    const record: Record<string, unknown> = {};
    names.forEach((name, i) => { if (cells[i] !== undefined && cells[i] !== "") record[name] = cells[i]; });
    return { line, ...checkLine(record) };
  });
}

/** The preview for a file: CSV by its name, else JSON Lines (the server guesses the same way). */
export function isCsv(fileName: string): boolean {
  return fileName.toLowerCase().endsWith(".csv");
}
