/**
 * The labeling workflow endpoints, in one place, and the shapes the screens work with. Responses
 * from the server are read into `WorkItem` here so screens don't depend on the exact JSON layout.
 */

import { api, rows } from "./api";
import { navigate } from "./router";

export interface Message { role: string; content: string }
export interface Guideline { name: string; number: number; body: string; id?: number }
export interface WorkItem {
  assignmentId: number;
  taskId: number;
  kind: "ranking" | "comparison" | "demonstration";
  messages: Message[];
  responses: { id: number; text: string }[]; // in the order this labeler sees them
  guideline: Guideline | null;
  leaseExpiresAt: string | null;
}

function readGuideline(raw: any): Guideline | null {
  if (!raw) return null;
  return { id: raw.id, name: raw.guideline_name ?? raw.guideline?.name ?? raw.name ?? "Guidelines", number: raw.number ?? raw.version ?? 1, body: raw.body ?? "" };
}

export function readWorkItem(raw: any): WorkItem {
  const assignment = raw.assignment && typeof raw.assignment === "object" ? raw.assignment : raw;
  const task = raw.task && typeof raw.task === "object" ? raw.task : assignment.task ?? raw;
  const prompt = task.prompt ?? raw.prompt ?? {};
  const messages: Message[] = Array.isArray(prompt.messages) ? prompt.messages
    : Array.isArray(prompt) ? prompt
    : [{ role: "user", content: typeof prompt === "string" ? prompt : prompt.text ?? "" }];
  const responses = (raw.responses ?? task.responses ?? []).map((r: any) => ({ id: Number(r.id ?? r.response), text: String(r.text ?? "") }));
  return {
    assignmentId: Number(assignment.assignment_id ?? assignment.id),
    taskId: Number(task.task_id ?? task.id ?? raw.task),
    kind: task.kind ?? raw.kind ?? "ranking",
    messages,
    responses,
    guideline: readGuideline(raw.guideline_version ?? raw.guideline ?? task.guideline_version),
    leaseExpiresAt: assignment.lease_expires_at ?? raw.lease_expires_at ?? null,
  };
}

export const labeling = {
  /** The next task for the signed-in labeler (their current lease first); null when there is none. */
  async next(kind: "ranking" | "demonstration"): Promise<WorkItem | null> {
    const data = await api.post(`/api/work/next/`, { kind });
    return data ? readWorkItem(data) : null;
  },
  async assignment(id: number): Promise<WorkItem> {
    return readWorkItem(await api.get(`/api/assignments/${id}/`));
  },
  submitRanking(id: number, body: Record<string, unknown>) {
    return api.post(`/api/assignments/${id}/ranking/`, body);
  },
  submitDemonstration(id: number, body: Record<string, unknown>) {
    return api.post(`/api/assignments/${id}/demonstration/`, body);
  },
  skip(id: number, reason: string) {
    return api.post(`/api/assignments/${id}/skip/`, { reason });
  },
  async history(): Promise<any[]> {
    return rows(await api.get(`/api/work/history/`));
  },
};

export function workPath(item: WorkItem): string {
  return `/work/${item.kind === "demonstration" ? "demonstration" : "ranking"}/${item.assignmentId}`;
}

/** After a submit or skip: straight on to the next task of the same kind, or back to the start page. */
export async function continueWork(kind: "ranking" | "demonstration", done: string): Promise<void> {
  const next = await labeling.next(kind).catch(() => null);
  navigate(next ? `${workPath(next)}?done=${done}` : `/work?done=${done}`);
}
