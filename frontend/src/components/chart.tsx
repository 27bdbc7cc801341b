/** Line charts (uPlot, bundled): training curves and dashboard series. */

import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { useEffect, useRef } from "preact/hooks";

import { Series } from "../logic/metrics";
export type { Series };

const COLORS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2"];

/** Align several (x, y) series on the union of their x values (uPlot's data layout). */
export function alignSeries(series: Series[]): (number | null)[][] {
  const xs = [...new Set(series.flatMap((s) => s.points.map(([x]) => x)))].sort((a, b) => a - b);
  const columns = series.map((s) => {
    const byX = new Map(s.points);
    return xs.map((x) => (byX.has(x) ? (byX.get(x) as number) : null));
  });
  return [xs, ...columns];
}

export function LineChart(props: { title: string; series: Series[]; xLabel?: string; height?: number; testId?: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el || props.series.every((s) => s.points.length === 0)) return;
    const width = Math.max(280, el.clientWidth || 480);
    const plot = new uPlot(
      {
        title: props.title,
        width,
        height: props.height ?? 220,
        scales: { x: { time: false } },
        axes: [{ label: props.xLabel ?? "step" }, {}],
        series: [{ label: props.xLabel ?? "step" }, ...props.series.map((s, i) => ({
          label: s.label, stroke: COLORS[i % COLORS.length], width: 2, spanGaps: true, points: { show: s.points.length < 30 },
        }))],
      },
      alignSeries(props.series) as uPlot.AlignedData,
      el,
    );
    const resize = () => plot.setSize({ width: Math.max(280, el.clientWidth), height: props.height ?? 220 });
    window.addEventListener("resize", resize);
    return () => {
      window.removeEventListener("resize", resize);
      plot.destroy();
    };
  }, [props.title, JSON.stringify(props.series)]);
  const empty = props.series.every((s) => s.points.length === 0);
  return (
    <figure class="chart" data-testid={props.testId} aria-label={props.title}>
      {empty ? <figcaption class="muted">{props.title}: no data yet</figcaption> : null}
      <div ref={box} />
    </figure>
  );
}

/** Horizontal bars for per-labeler figures (plain HTML, readable by screen readers). */
export function BarList(props: { title: string; rows: { label: string; value: number; text?: string }[]; max?: number }) {
  const max = props.max ?? Math.max(1, ...props.rows.map((r) => r.value));
  return (
    <figure class="bars" aria-label={props.title}>
      <figcaption>{props.title}</figcaption>
      {props.rows.map((r) => (
        <div class="bar-row">
          <span class="bar-label">{r.label}</span>
          <span class="bar-track"><span class="bar-fill" style={{ width: `${(100 * r.value) / max}%` }} /></span>
          <span class="bar-value">{r.text ?? r.value}</span>
        </div>
      ))}
    </figure>
  );
}
