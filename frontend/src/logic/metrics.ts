/** Turning API series into chart series: job metrics grouped by family, submissions counted per day. */

export interface Series {
  label: string;
  points: [number, number][]; // (x, y)
}

const FAMILIES: [string, RegExp][] = [
  ["KL", /kl/i],
  ["Reward", /reward|score|win/i],
  ["Loss", /loss/i],
  ["Accuracy", /acc/i],
  ["Learning rate", /^lr$|learning_rate/i],
];
const ORDER = ["Loss", "Reward", "KL", "Accuracy", "Learning rate", "Other"];

export function metricFamily(name: string): string {
  return FAMILIES.find(([, re]) => re.test(name))?.[0] ?? "Other";
}

/** One chart per family (loss, reward, KL, …) of a job's metrics series [{step, values}]; numbers only. */
export function metricCharts(metrics: { step: number; values: Record<string, unknown> }[]): { title: string; series: Series[] }[] {
  const names = [...new Set(metrics.flatMap((m) => Object.keys(m.values ?? {})))];
  const groups = new Map<string, Series[]>();
  for (const name of names) {
    const points = metrics
      .filter((m) => typeof m.values?.[name] === "number" && Number.isFinite(m.values[name]))
      .map((m) => [m.step, m.values[name] as number] as [number, number]);
    if (!points.length) continue;
    const family = metricFamily(name);
    groups.set(family, [...(groups.get(family) ?? []), { label: name, points }]);
  }
  return ORDER.filter((f) => groups.has(f)).map((f) => ({ title: f, series: groups.get(f)! }));
}

/** Count items per UTC day of `field`; returns days (as "YYYY-MM-DD") in order with their counts, gaps filled. */
export function dailyCounts(items: Record<string, unknown>[], field: string): { day: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const item of items) {
    const value = item[field];
    if (typeof value !== "string") continue;
    const day = value.slice(0, 10);
    if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) continue;
    counts.set(day, (counts.get(day) ?? 0) + 1);
  }
  const days = [...counts.keys()].sort();
  if (!days.length) return [];
  const out: { day: string; count: number }[] = [];
  for (let d = new Date(`${days[0]}T00:00:00Z`); d <= new Date(`${days[days.length - 1]}T00:00:00Z`); d.setUTCDate(d.getUTCDate() + 1)) {
    const day = d.toISOString().slice(0, 10);
    out.push({ day, count: counts.get(day) ?? 0 });
  }
  return out;
}
