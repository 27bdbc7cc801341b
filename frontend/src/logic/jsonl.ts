/**
 * Preview of a prompt import file (JSON Lines: {"text", "category", "split"} or {"messages": [...]})
 * before it is sent. The server validates again and has the last word; the preview only lets the
 * admin see what will be imported and which lines are wrong, with their line numbers.
 */

export const CATEGORIES = [
  "generation", "open_qa", "brainstorming", "chat", "rewrite",
  "summarization", "classification", "closed_qa", "extract", "other",
];
export const SPLITS = ["sft", "rm", "ppo", "eval"];
const ROLES = ["system", "user", "assistant"];

export interface PreviewRow {
  line: number;
  text: string;
  category: string;
  split: string;
  turns: number;
  error: string | null;
}

export function checkLine(value: unknown): Omit<PreviewRow, "line"> {
  const fail = (error: string) => ({ text: "", category: "", split: "", turns: 0, error });
  if (!value || typeof value !== "object" || Array.isArray(value)) return fail("Each line must be a JSON object.");
  const obj = value as Record<string, unknown>;
  let text = "";
  let turns = 1;
  const messages = obj.messages ?? (Array.isArray(obj.prompt) ? obj.prompt : undefined);
  if (messages !== undefined) {
    if (!Array.isArray(messages) || messages.length === 0) return fail("messages: must be a non-empty list.");
    for (const [i, m] of messages.entries()) {
      const msg = m as Record<string, unknown>;
      if (!msg || typeof msg !== "object" || !ROLES.includes(String(msg.role)) || typeof msg.content !== "string")
        return fail(`messages[${i}]: needs a role (system, user, assistant) and a string content.`);
    }
    if (!messages.some((m) => (m as Record<string, unknown>).role === "user")) return fail("messages: a prompt needs at least one user message.");
    turns = messages.length;
    text = String((messages[messages.length - 1] as Record<string, unknown>).content);
  } else {
    const raw = obj.text ?? obj.prompt;
    if (typeof raw !== "string" || raw.trim() === "") return fail("text: must be a non-empty string.");
    text = raw;
  }
  const category = obj.category === undefined ? "other" : String(obj.category);
  if (!CATEGORIES.includes(category)) return fail(`category: "${category}" is not one of ${CATEGORIES.join(", ")}.`);
  const split = obj.split === undefined ? "rm" : String(obj.split);
  if (!SPLITS.includes(split)) return fail(`split: "${split}" is not one of ${SPLITS.join(", ")}.`);
  return { text, category, split, turns, error: null };
}

export function previewJsonl(content: string): PreviewRow[] {
  const rows: PreviewRow[] = [];
  content.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      rows.push({ line: i + 1, text: line.slice(0, 80), category: "", split: "", turns: 0, error: `Not valid JSON: ${(e as Error).message}` });
      return;
    }
    const row = { line: i + 1, ...checkLine(value) };
    if (row.error && !row.text && value && typeof value === "object") {
      const raw = (value as Record<string, unknown>).text ?? (value as Record<string, unknown>).prompt;
      if (typeof raw === "string") row.text = raw; // show which prompt the bad line is
    }
    rows.push(row);
  });
  return rows;
}
