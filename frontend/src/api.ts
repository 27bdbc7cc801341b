/** The REST API client: session cookie auth, CSRF header on writes, errors mapped to fields. */

import { fieldErrors, FieldErrors } from "./logic/errors";

export class ApiError extends Error {
  constructor(public status: number, public body: unknown, public fields: FieldErrors) {
    super(ApiError.summary(status, fields));
  }
  static summary(status: number, fields: FieldErrors): string {
    const general = fields[""]?.join(" ");
    if (general) return general;
    const first = Object.entries(fields)[0];
    if (first) return `${first[0]}: ${first[1].join(" ")}`;
    return status === 0 ? "The server could not be reached." : `Request failed (${status}).`;
  }
}

function cookie(name: string): string {
  const match = document.cookie.split("; ").find((c) => c.startsWith(`${name}=`));
  return match ? decodeURIComponent(match.slice(name.length + 1)) : "";
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  let payload: BodyInit | undefined;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  if (method !== "GET") headers["X-CSRFToken"] = cookie("csrftoken");
  let response: Response;
  try {
    response = await fetch(path.startsWith("/") ? path : `/api/${path}`, { method, headers, body: payload, credentials: "same-origin" });
  } catch {
    throw new ApiError(0, null, { "": ["The server could not be reached."] });
  }
  if (response.status === 204) return null as T;
  const text = await response.text();
  let data: unknown = text;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON (e.g. an HTML error page) */
  }
  if (!response.ok) {
    const fields = typeof data === "object" && data !== null ? fieldErrors(data) : { "": [`Request failed (${response.status}).`] };
    throw new ApiError(response.status, data, fields);
  }
  return data as T;
}

export const api = {
  get: <T = any>(path: string) => request<T>("GET", path),
  post: <T = any>(path: string, body?: unknown) => request<T>("POST", path, body ?? {}),
  put: <T = any>(path: string, body: unknown) => request<T>("PUT", path, body),
  patch: <T = any>(path: string, body: unknown) => request<T>("PATCH", path, body),
  del: <T = any>(path: string) => request<T>("DELETE", path),
};

/** A list endpoint's rows, whether paginated ({results}) or not. */
export function rows<T = any>(data: any): T[] {
  if (Array.isArray(data)) return data;
  if (data && Array.isArray(data.results)) return data.results;
  return [];
}

export interface Me {
  id: number;
  username: string;
  roles: string[];
}
