/**
 * Which inputs the launch form preselects for a job kind: the newest model and snapshots of the kinds
 * the job takes (training/launch.py `resolve_inputs` is the rule that checks them on the server).
 */

export interface Item { id: number; kind: string }

const LANGUAGE_MODELS = ["policy", "sft", "base"];

function newest(items: Item[], kinds: string[]): number[] {
  const found = items.filter((i) => kinds.includes(i.kind)).sort((a, b) => b.id - a.id)[0];
  return found ? [found.id] : [];
}

/** Like `newest`, but the first kind in `kinds` that has any item wins (an SFT model before the base). */
function preferred(items: Item[], kinds: string[]): number[] {
  for (const kind of kinds) {
    const ids = newest(items, [kind]);
    if (ids.length) return ids;
  }
  return [];
}

/** The two newest language models (candidate and baseline of a comparison). */
function twoNewest(models: Item[]): number[] {
  return models.filter((m) => LANGUAGE_MODELS.includes(m.kind)).sort((a, b) => b.id - a.id).slice(0, 2).map((m) => m.id);
}

export function preselect(kind: string, snapshots: Item[], models: Item[], mode = "rm_accuracy"): { snapshots: number[]; models: number[] } {
  const preference = newest(snapshots, ["rankings", "pairs"]);
  const sft = newest(snapshots, ["sft"]);
  switch (kind) {
    case "sft": return { snapshots: sft, models: preferred(models, ["base", "sft", "policy"]) };
    case "rm": return { snapshots: [...preference, ...sft], models: preferred(models, ["sft", "base", "rm"]) };
    case "ppo": return { snapshots: [], models: [...preferred(models, ["sft", "policy", "base"]), ...newest(models, ["rm"])] };
    case "dpo": return { snapshots: preference, models: preferred(models, ["sft", "policy", "base"]) };
    case "bon": return { snapshots: [], models: [...preferred(models, ["sft", "policy", "base"]), ...newest(models, ["rm"])] };
    case "sample": return { snapshots: [], models: newest(models, LANGUAGE_MODELS) };
    case "evaluate":
      if (mode === "reward_win_rate") return { snapshots: [], models: [...twoNewest(models), ...newest(models, ["rm"])] };
      if (mode === "human_comparison") return { snapshots: [], models: twoNewest(models) };
      return { snapshots: preference, models: newest(models, ["rm"]) };
    default: return { snapshots: [], models: [] };
  }
}
