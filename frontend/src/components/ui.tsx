/** Small shared pieces: links, field errors, loading states, tables. */

import { ComponentChildren } from "preact";
import { useCallback, useEffect, useState } from "preact/hooks";
import { ApiError } from "../api";
import { navigate } from "../router";

export function Link(props: { href: string; children: ComponentChildren; class?: string; current?: boolean }) {
  return (
    <a
      href={props.href}
      class={props.class}
      aria-current={props.current ? "page" : undefined}
      onClick={(e) => {
        if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
        e.preventDefault();
        navigate(props.href);
      }}
    >
      {props.children}
    </a>
  );
}

/** Error messages shown right next to the input or section they are about. */
export function Errors(props: { messages?: string[]; id?: string }) {
  if (!props.messages || props.messages.length === 0) return null;
  return (
    <div class="errors" id={props.id} role="alert">
      {props.messages.map((m) => <p>{m}</p>)}
    </div>
  );
}

export function Loading() {
  return <p class="muted" aria-live="polite">Loading…</p>;
}

/** Load data from the API once (and again on `reload()`); errors are kept for display. */
export function useApi<T>(load: () => Promise<T>, deps: unknown[] = []) {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);
  const reload = useCallback(() => {
    setLoading(true);
    load()
      .then((d) => { setData(d); setError(null); })
      .catch((e) => setError(e instanceof ApiError ? e : new ApiError(0, null, { "": [String(e)] })))
      .finally(() => setLoading(false));
  }, deps);
  useEffect(reload, [reload]);
  return { data, error, loading, reload, setData };
}

export function ApiState(props: { error: ApiError | null; loading: boolean; empty?: boolean; emptyText?: string }) {
  if (props.error) return <Errors messages={[props.error.message]} />;
  if (props.loading) return <Loading />;
  if (props.empty) return <p class="muted">{props.emptyText ?? "Nothing here yet."}</p>;
  return null;
}

export function fmtDate(value: string | null | undefined): string {
  if (!value) return "—";
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? String(value) : d.toLocaleString();
}

export function fmtNumber(value: unknown, digits = 3): string {
  if (value === null || value === undefined || value === "") return "—";
  const n = Number(value);
  if (!Number.isFinite(n)) return String(value);
  return Number.isInteger(n) ? String(n) : n.toFixed(digits);
}

export function pct(value: unknown): string {
  if (value === null || value === undefined) return "—";
  const n = Number(value);
  return Number.isFinite(n) ? `${(100 * n).toFixed(1)}%` : "—";
}
