import { dailyCounts, metricCharts, metricFamily } from "./metrics";

describe("job metric charts", () => {
  it("puts loss, reward and KL series on their own charts in a fixed order", () => {
    const charts = metricCharts([
      { step: 1, values: { kl: 0.01, reward_mean: 0.2, loss: 2.5, lr: 0.001 } },
      { step: 2, values: { kl: 0.02, reward_mean: 0.4, loss: 2.1, eval_loss: 2.3, note: "warmup" } },
    ]);
    expect(charts.map((c) => c.title)).toEqual(["Loss", "Reward", "KL", "Learning rate"]);
    expect(charts[0].series).toEqual([
      { label: "loss", points: [[1, 2.5], [2, 2.1]] },
      { label: "eval_loss", points: [[2, 2.3]] },
    ]);
  });

  it("knows the families by name", () => {
    expect(["policy_loss", "rm_accuracy", "approx_kl", "learning_rate", "tokens"].map(metricFamily))
      .toEqual(["Loss", "Accuracy", "KL", "Learning rate", "Other"]);
  });

  it("has no charts without numeric metrics", () => {
    expect(metricCharts([{ step: 1, values: { phase: "start" } }])).toEqual([]);
  });
});

describe("submissions per day", () => {
  it("counts per UTC day and fills the days in between with zero", () => {
    const items = [
      { created_at: "2026-11-20T10:00:00Z" }, { created_at: "2026-11-20T23:59:00Z" },
      { created_at: "2026-11-22T08:00:00Z" }, { created_at: null },
    ];
    expect(dailyCounts(items, "created_at")).toEqual([
      { day: "2026-11-20", count: 2 }, { day: "2026-11-21", count: 0 }, { day: "2026-11-22", count: 1 },
    ]);
  });
});
