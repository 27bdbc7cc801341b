import { preselect } from "./launchInputs";

describe("launch form preselects the inputs a job kind takes", () => {
  const snapshots = [{ id: 1, kind: "sft" }, { id: 2, kind: "rankings" }, { id: 3, kind: "sft" }, { id: 4, kind: "pairs" }];
  const models = [{ id: 1, kind: "base" }, { id: 2, kind: "sft" }, { id: 3, kind: "rm" }];

  it("SFT starts from the base model on the newest sft snapshot", () => {
    expect(preselect("sft", snapshots, models)).toEqual({ snapshots: [3], models: [1] });
  });
  it("the reward model starts from the SFT model, on preference data plus demonstrations", () => {
    expect(preselect("rm", snapshots, models)).toEqual({ snapshots: [4, 3], models: [2] });
  });
  it("PPO takes the SFT policy and the reward model; sampling the newest language model", () => {
    expect(preselect("ppo", snapshots, models)).toEqual({ snapshots: [], models: [2, 3] });
    expect(preselect("sample", snapshots, models)).toEqual({ snapshots: [], models: [2] });
  });
  it("DPO learns from preference data on the SFT policy; best-of-N samples it with the reward model", () => {
    expect(preselect("dpo", snapshots, models)).toEqual({ snapshots: [4], models: [2] });
    expect(preselect("bon", snapshots, models)).toEqual({ snapshots: [], models: [2, 3] });
  });
  it("the only model is chosen; nothing when nothing fits", () => {
    expect(preselect("sample", [], [{ id: 7, kind: "base" }])).toEqual({ snapshots: [], models: [7] });
    expect(preselect("sft", [], [])).toEqual({ snapshots: [], models: [] });
    expect(preselect("bootstrap", snapshots, models)).toEqual({ snapshots: [], models: [] });
  });

  it("an evaluation preselects by its mode", () => {
    expect(preselect("evaluate", snapshots, models)).toEqual({ snapshots: [4], models: [3] });
    expect(preselect("evaluate", snapshots, models, "reward_win_rate")).toEqual({ snapshots: [], models: [2, 1, 3] });
    expect(preselect("evaluate", snapshots, models, "human_comparison")).toEqual({ snapshots: [], models: [2, 1] });
  });
});
