"""Label efficiency (issue 17): do uncertainty order and labeler weights spend labels where they count?

    python -m experiments.hidden_preference.label_efficiency [--tiny] [--out DIR] [--docs]

writes label_efficiency.json (results), label_efficiency.md (tables), label_efficiency.svg (the curve) and
noisy_crowd.svg into DIR (default var/experiments/label_efficiency); --docs copies them into docs/.

Offline on the training engine, like loop.py's stages: the same gold rule (gold.py), the same simulated
labelers (σ calibrated to 73% two-labeler agreement), loop.py's ranking tasks (the RM split's prompts, K
SFT answers per sampling seed), fixed seeds, several seeds.

1. Uncertainty order vs random order. Tasks are labelled one ranking each, in rounds; both orders start
   from the same ``start`` random tasks. Each round trains a reward-model ensemble on what is collected
   (H heads, each on its Poisson(1) bootstrap of the rankings, the engine's loss
   training.engine.ensemble.ensemble_loss) and then labels ``step`` more tasks: the next of a random
   shuffle, or the pool's most uncertain (a task's uncertainty is the mean over its answers of the heads'
   spread of prompt-centred rewards, as Ensemble.score computes it). Curve: the ensemble mean's accuracy
   against gold on held-out pairs (eval prompts, answers of the SFT and base models, pairs the gold rule
   ties left out, as evaluate.rm_gold_accuracy) vs rankings collected. Target: the uncertainty order
   reaches the random order's accuracy at the full budget with at most 70% of the rankings.
2. A noisy crowd. Three labelers share the same budget, one ranking per task; a tenth of each labeler's
   rankings are of gold tasks (gold rate 10%; everyone ranks the same gold tasks). Clean crowd: three
   ordinary labelers. Noisy crowd: the third ranks at random (or, adversarially, reverses its ranking);
   its RM is trained without weights and with the platform's weights: each labeler's pairwise gold
   accuracy and w = max(0, 2·acc − 1), computed by labeling.gold_math (what labeling.gold uses).
   Target: with weights, within 2 points of the clean crowd.

Why a frozen backbone: retraining a whole reward model every round is out of reach on 2 CPU cores, and
the platform's ensemble freezes its backbone too. The backbone's features (the last hidden state at the
answer's last token, the place the reward head reads) are computed once for every answer; each round
trains only the heads. The backbone is the SFT model, which has seen no ranking, so no arm gets labels
the others lack.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from dataclasses import asdict, dataclass, replace
from html import escape
from pathlib import Path

import torch

from labeling.gold_math import gold_pair_tally, weight_from_accuracy
from . import evaluate, gold
from .loop import FULL, TINY, Loop, Sizes, split

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Setup:
    seeds: tuple = (0, 1, 2)
    heads: int = 5                  # ensemble members
    head_steps: int = 200           # full-batch steps per training of the heads
    head_learning_rate: float = 5e-2
    start: int = 12                 # random rankings both orders begin with
    step: int = 12                  # rankings labelled per round
    budget: int = 120               # rankings: the curve's last point
    target_share: float = 0.70      # uncertainty must reach random's final accuracy within this share
    gold_rate: float = 0.10         # share of each crowd labeler's rankings that are of gold tasks
    crowd_budget: int = 180         # rankings the crowd gives (loop.py's tasks, one ranking each)
    eval_samples: int = 4           # answers per eval prompt from each of SFT and base
    # the models that make the answers and features (smaller than loop.FULL's: 2 busy CPU cores)
    sizes: Sizes = replace(FULL, bootstrap_steps=150, n_embd=64)


FULL_SETUP = Setup()
TINY_SETUP = replace(FULL_SETUP, seeds=(0,), heads=3, head_steps=60, start=4, step=4, budget=12, crowd_budget=24,
                     eval_samples=2, sizes=replace(TINY, rm_prompts=8, k=4, sample_rounds=3))


# ---- the world: tasks, held-out pairs, features ---------------------------------------------------


@dataclass
class World:
    tasks: list[dict]              # {"prompt", "responses", "rows": feature rows, "gold": gold ranks}
    eval_groups: list[list[tuple[int, int, bool]]]  # per eval prompt: (row a, row b, gold prefers a)
    features: torch.Tensor         # (answers, hidden)
    sigma: float


def answer_features(model_dir, items, batch_size: int = 32) -> torch.Tensor:
    """The frozen backbone's last hidden state at each (prompt, answer)'s last token, as the reward head and
    Ensemble.forward read it: (N, hidden)."""
    from training.engine.data import encode_prompt_answer, normalise_answer, pad, position_ids_from_mask
    from training.engine.reward import last_token_index, load_reward_model

    rm = load_reward_model(model_dir)
    rm.eval()
    ids = [encode_prompt_answer(rm.tokenizer, p, normalise_answer(a), rm.max_length)[0] for p, a in items]
    rows = []
    with torch.no_grad():
        for i in range(0, len(ids), batch_size):
            chunk = ids[i:i + batch_size]
            mask = pad([[1] * len(s) for s in chunk], 0)
            out = rm.backbone(input_ids=pad(chunk, rm.tokenizer.pad_token_id), attention_mask=mask,
                              position_ids=position_ids_from_mask(mask), use_cache=False)
            rows.append(out.last_hidden_state[torch.arange(len(chunk)), last_token_index(mask)].float())
    return torch.cat(rows)


def build_world(out: Path, setup: Setup, log=print) -> World:
    """loop.py's stages (bootstrap, SFT, K answers per RM prompt) into ``out``, eval answers, features."""
    loop = Loop(out, setup.sizes, log=log)
    base = loop.bootstrap()
    sft = loop.sft(base, loop.demonstrations())
    sampled = loop.sample_rm_answers(sft)
    prompts = split("eval", setup.sizes.eval_prompts)
    answers = [a + b for a, b in zip(
        *(evaluate.answers_by_prompt(m, prompts, setup.eval_samples, seed=11, max_new_tokens=setup.sizes.max_new_tokens)
          for m in (sft, base)))]
    items = [(r["prompt"], a) for r in sampled for a in r["responses"]]
    tasks, row = [], 0
    for r in sampled:
        k = len(r["responses"])
        tasks.append({"prompt": r["prompt"], "responses": r["responses"], "rows": list(range(row, row + k)),
                      "gold": gold.gold_ranks(r["prompt"], r["responses"])})
        row += k
    groups = []
    for p, row_answers in zip(prompts, answers):
        scores = [gold.gold_score(p["text"], a) for a in row_answers]
        first = len(items)
        items += [(p["text"], a) for a in row_answers]
        groups.append([(first + i, first + j, scores[i] > scores[j]) for i in range(len(scores))
                       for j in range(i + 1, len(scores)) if scores[i] != scores[j]])
    features = loop.timed("features", answer_features, sft, items)
    sigma = gold.calibrate_noise([[gold.gold_score(t["prompt"], a) for a in t["responses"]] for t in tasks])
    return World(tasks, groups, features, sigma)


# ---- the ensemble on cached features --------------------------------------------------------------


def train_heads(world: World, rankings: list[tuple[int, list[int], float]], setup: Setup, seed: int) -> torch.nn.Linear:
    """H heads on ``rankings`` = [(task, ranks, weight)]: the ensemble's init, bootstrap counts and loss."""
    from training.engine.data import to_ranking
    from training.engine.ensemble import bootstrap_counts, ensemble_loss

    rows, w, l, owner = [], [], [], []
    for r, (task, ranks, _) in enumerate(rankings):
        t = world.tasks[task]
        offset = len(rows)
        rows += t["rows"]
        for a, b in to_ranking({"prompt": t["prompt"], "responses": t["responses"], "ranks": ranks}).pairs():
            w.append(offset + a)
            l.append(offset + b)
            owner.append(r)
    as_long = lambda xs: torch.tensor(xs, dtype=torch.long)  # noqa: E731
    batch = {"w": as_long(w), "l": as_long(l), "pair_ranking": as_long(owner), "n_rankings": len(rankings),
             "weights": [weight for _, _, weight in rankings]}
    x = world.features[rows]
    torch.manual_seed(seed)
    hidden = x.size(1)
    heads = torch.nn.Linear(hidden, setup.heads)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():  # as Ensemble.__init__: independent draws, so the heads start apart
        heads.weight.copy_(torch.randn(setup.heads, hidden, generator=generator) / (hidden + 1) ** 0.5)
        heads.bias.zero_()
    counts = bootstrap_counts(len(rankings), setup.heads, seed)
    optimizer = torch.optim.AdamW(heads.parameters(), lr=setup.head_learning_rate, weight_decay=0.0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # ops this small: on a busy 2-core machine two threads were 13x slower than one
    try:
        for _ in range(setup.head_steps):
            loss = ensemble_loss(heads(x), batch, counts)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(heads.parameters(), 1.0)
            optimizer.step()
    finally:
        torch.set_num_threads(threads)
    return heads


@torch.no_grad()
def uncertainties(heads, world: World) -> list[float]:
    """Per task: the mean over its answers of the heads' spread of prompt-centred rewards (Ensemble.score)."""
    every = heads(world.features)                                   # (answers, H), in one call
    out = []
    for task in world.tasks:
        rewards = every[task["rows"]]                               # (K, H)
        out.append((rewards - rewards.mean(0, keepdim=True)).std(1, unbiased=True).mean().item())
    return out


@torch.no_grad()
def gold_accuracy(heads, world: World) -> float:
    """Share of held-out gold-untied pairs that the ensemble's mean reward orders like the gold rule."""
    mean = heads(world.features).mean(1)
    by_prompt = [[float((mean[a] > mean[b]) == a_better) for a, b, a_better in group] for group in world.eval_groups]
    outcomes = [o for group in by_prompt for o in group]
    return sum(outcomes) / max(len(outcomes), 1)


# ---- 1. the label-efficiency curve ---------------------------------------------------------------


def curve(world: World, setup: Setup, order: str, seed: int) -> list[tuple[int, float]]:
    """[(rankings collected, gold accuracy)] labelling in ``order`` ("random" or "uncertainty")."""
    shuffled = list(range(len(world.tasks)))
    random.Random(seed).shuffle(shuffled)
    labeler = gold.SimulatedLabeler(world.sigma, seed=1000 + seed)
    collected = []

    def label(tasks):
        for t in tasks:
            collected.append((t, labeler.rank(world.tasks[t]["prompt"], world.tasks[t]["responses"]), 1.0))

    label(shuffled[:setup.start])
    points = []
    while True:
        heads = train_heads(world, collected, setup, seed)
        points.append((len(collected), gold_accuracy(heads, world)))
        if len(collected) >= setup.budget:
            return points
        done = {t for t, _, _ in collected}
        remaining = [t for t in shuffled if t not in done]
        if order == "uncertainty":  # stable sort: equal uncertainty keeps the random order
            spread = uncertainties(heads, world)
            remaining.sort(key=lambda t: -spread[t])
        label(remaining[:min(setup.step, setup.budget - len(collected))])


def rankings_to_reach(points, accuracy) -> int | None:
    return next((n for n, a in points if a >= accuracy - 1e-12), None)


def efficiency(world: World, setup: Setup, log=print) -> dict:
    runs = {order: [curve(world, setup, order, seed) for seed in setup.seeds] for order in ("random", "uncertainty")}
    result = {}
    for order, per_seed in runs.items():
        ns = [n for n, _ in per_seed[0]]
        mean = [sum(run[i][1] for run in per_seed) / len(per_seed) for i in range(len(ns))]
        result[order] = {"rankings": ns, "accuracy": mean, "per_seed": [[a for _, a in run] for run in per_seed]}
        log(f"{order}: " + ", ".join(f"{n}: {a:.3f}" for n, a in zip(ns, mean)))
    final = result["random"]["accuracy"][-1]
    needed = rankings_to_reach(list(zip(result["uncertainty"]["rankings"], result["uncertainty"]["accuracy"])), final)
    share = None if needed is None else needed / setup.budget
    result["target"] = {"random_final_accuracy": final, "uncertainty_final_accuracy": result["uncertainty"]["accuracy"][-1],
                        "uncertainty_rankings_to_reach_it": needed, "share_of_budget": share,
                        "met": share is not None and share <= setup.target_share}
    return result


# ---- 2. the noisy crowd ---------------------------------------------------------------------------


class RandomLabeler:
    """Ranks in a random order: no information about the gold rule."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    def rank(self, prompt, answers):
        ranks = list(range(1, len(answers) + 1))
        self.rng.shuffle(ranks)
        return ranks


class AdversarialLabeler(gold.SimulatedLabeler):
    """An ordinary labeler's ranking, reversed."""

    def rank(self, prompt, answers):
        return [len(answers) + 1 - r for r in super().rank(prompt, answers)]


def crowd_rankings(world: World, setup: Setup, labelers, seed: int):
    """(rankings [(task, ranks, labeler)], gold tallies {labeler: (agreed, pairs)}). Every labeler ranks the
    same G gold tasks, G = gold_rate·budget/3 (a tenth of each one's rankings); the other tasks go round-robin."""
    order = list(range(len(world.tasks)))
    random.Random(20_000 + seed).shuffle(order)
    n = len(labelers)
    golds = max(1, round(setup.gold_rate * setup.crowd_budget / n))
    ordinary = order[golds:golds + setup.crowd_budget - n * golds]
    if len(ordinary) < setup.crowd_budget - n * golds:
        raise ValueError(f"crowd_budget {setup.crowd_budget} needs more tasks than the {len(world.tasks)} in the pool")
    rankings, tallies = [], {i: [0.0, 0] for i in range(n)}
    for t in order[:golds]:
        task = world.tasks[t]
        for i, labeler in enumerate(labelers):
            ranks = labeler.rank(task["prompt"], task["responses"])
            agreed, pairs = gold_pair_tally(dict(enumerate(ranks)), dict(enumerate(task["gold"])))
            tallies[i][0] += agreed
            tallies[i][1] += pairs
            rankings.append((t, ranks, i))
    for j, t in enumerate(ordinary):
        i = j % n
        rankings.append((t, labelers[i].rank(world.tasks[t]["prompt"], world.tasks[t]["responses"]), i))
    return rankings, tallies


def crowd(world: World, setup: Setup, kind: str, seed: int) -> dict:
    """Gold accuracy of the RM from a clean crowd, and from a crowd whose third labeler is ``kind``
    ("random" or "adversarial"), without and with labeler weights from gold."""
    def ordinary(i):
        return gold.SimulatedLabeler(world.sigma, seed=3000 + 10 * seed + i)

    bad = RandomLabeler(3002 + 10 * seed) if kind == "random" else AdversarialLabeler(world.sigma, 3002 + 10 * seed)
    clean, _ = crowd_rankings(world, setup, [ordinary(0), ordinary(1), ordinary(2)], seed)
    noisy, tallies = crowd_rankings(world, setup, [ordinary(0), ordinary(1), bad], seed)
    accuracy = {i: agreed / pairs for i, (agreed, pairs) in tallies.items()}
    weights = {i: weight_from_accuracy(a) for i, a in accuracy.items()}

    def rm(rankings, weighted):
        heads = train_heads(world, [(t, r, weights[i] if weighted else 1.0) for t, r, i in rankings], setup, seed)
        return gold_accuracy(heads, world)

    return {"clean": rm(clean, False), "noisy_unweighted": rm(noisy, False), "noisy_weighted": rm(noisy, True),
            "labeler_gold_accuracy": [accuracy[i] for i in range(3)], "labeler_weights": [weights[i] for i in range(3)],
            "gold_pairs": [tallies[i][1] for i in range(3)]}


def crowds(world: World, setup: Setup, log=print) -> dict:
    result = {}
    for kind in ("random", "adversarial"):
        runs = [crowd(world, setup, kind, seed) for seed in setup.seeds]
        mean = {key: sum(r[key] for r in runs) / len(runs) for key in ("clean", "noisy_unweighted", "noisy_weighted")}
        gap = mean["clean"] - mean["noisy_weighted"]
        result[kind] = {**mean, "per_seed": runs, "weighted_gap_points": 100 * gap,
                        "unweighted_gap_points": 100 * (mean["clean"] - mean["noisy_unweighted"]),
                        "met": gap <= 0.02}
        log(f"crowd with a {kind} labeler: " + ", ".join(f"{k} {v:.3f}" for k, v in mean.items())
            + f"; weights {[round(w, 2) for w in runs[0]['labeler_weights']]}")
    return result


# ---- report: Markdown and SVG (hand-written, like report.py's win_rates.svg) -----------------------


def _svg_open(width, height, title):
    return [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
            f'<rect width="{width}" height="{height}" fill="white"/>',
            f'<text x="{width / 2}" y="18" text-anchor="middle" font-size="14">{escape(title)}</text>']


def svg_curve(results: dict, width: int = 760, height: int = 320) -> str:
    """Gold accuracy vs rankings collected, one line per order, mean over seeds; dashed: random's final."""
    eff = results["efficiency"]
    left, right, top, bottom = 60, 150, 30, 50
    plot_w, plot_h = width - left - right, height - top - bottom
    ns = eff["random"]["rankings"]
    values = [a for o in ("random", "uncertainty") for a in eff[o]["accuracy"]]
    low, high = max(0.0, math.floor(20 * min(values) - 0.2) / 20), min(1.0, math.ceil(20 * max(values) + 0.2) / 20)

    def x(n):
        return left + plot_w * (n - ns[0]) / max(ns[-1] - ns[0], 1)

    def y(v):
        return top + plot_h * (1 - (v - low) / max(high - low, 1e-9))

    parts = _svg_open(width, height, "Reward-model accuracy against gold vs rankings collected")
    for i in range(round(20 * (high - low)) + 1):  # a line every 5 points
        v = low + i / 20
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{100 * v:.0f}%</text>')
    for n in ns:
        parts.append(f'<text x="{x(n):.1f}" y="{top + plot_h + 16}" text-anchor="middle">{n}</text>')
    parts.append(f'<text x="{left + plot_w / 2}" y="{height - 10}" text-anchor="middle">rankings collected '
                 f'(mean of {len(results["setup"]["seeds"])} seeds)</text>')
    final = eff["target"]["random_final_accuracy"]
    parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y(final):.1f}" y2="{y(final):.1f}" stroke="#c33" '
                 'stroke-dasharray="4 3"/>')
    for k, (order, colour) in enumerate((("random", "#999"), ("uncertainty", "#3b6ea8"))):
        points = " ".join(f"{x(n):.1f},{y(a):.1f}" for n, a in zip(eff[order]["rankings"], eff[order]["accuracy"]))
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for n, a in zip(eff[order]["rankings"], eff[order]["accuracy"]):
            parts.append(f'<circle cx="{x(n):.1f}" cy="{y(a):.1f}" r="3" fill="{colour}"/>')
        ly = top + 20 + 20 * k
        parts.append(f'<line x1="{left + plot_w + 12}" x2="{left + plot_w + 32}" y1="{ly}" y2="{ly}" stroke="{colour}" '
                     'stroke-width="2"/>')
        parts.append(f'<text x="{left + plot_w + 38}" y="{ly + 4}">{order} order</text>')
    parts.append(f'<text x="{left + plot_w + 12}" y="{top + 84}" fill="#c33">random\'s final</text>')
    parts.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}" stroke="black"/>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


BARS = (("clean", "clean crowd", "#999"), ("noisy_unweighted", "noisy, no weights", "#c96"),
        ("noisy_weighted", "noisy, weights from gold", "#3b6ea8"))


def svg_crowd(results: dict, width: int = 760, height: int = 320) -> str:
    """Grouped bars: RM gold accuracy for the clean crowd and the noisy crowd without and with weights."""
    kinds = list(results["crowd"])
    left, right, top, bottom = 60, 20, 30, 70
    plot_w, plot_h = width - left - right, height - top - bottom
    slot = plot_w / max(len(kinds), 1)

    def y(v):
        return top + plot_h * (1 - v)

    parts = _svg_open(width, height, "Reward-model accuracy against gold: one labeler of three is noise")
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{int(tick * 100)}%</text>')
    for i, kind in enumerate(kinds):
        bw = slot * 0.8 / len(BARS)
        for j, (key, _, colour) in enumerate(BARS):
            v = results["crowd"][kind][key]
            bx = left + slot * i + slot * 0.1 + bw * j
            parts.append(f'<rect x="{bx:.1f}" y="{y(v):.1f}" width="{bw - 4:.1f}" height="{plot_h * v:.1f}" fill="{colour}"/>')
            parts.append(f'<text x="{bx + (bw - 4) / 2:.1f}" y="{y(v) - 5:.1f}" text-anchor="middle">{100 * v:.1f}%</text>')
        parts.append(f'<text x="{left + slot * (i + 0.5):.1f}" y="{top + plot_h + 18}" text-anchor="middle">'
                     f'third labeler: {escape(kind)}</text>')
    for j, (_, label, colour) in enumerate(BARS):
        lx = left + j * plot_w / len(BARS)
        parts.append(f'<rect x="{lx:.1f}" y="{height - 24}" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{lx + 18:.1f}" y="{height - 14}">{escape(label)}</text>')
    parts.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{top + plot_h}" stroke="black"/>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def markdown_report(results: dict) -> str:
    eff, s = results["efficiency"], results["setup"]
    t = eff["target"]
    lines = ["# Label efficiency in the hidden-preference experiment", "",
             f"Held-out pairs: {results['world']['eval_pairs']}; pool: {results['world']['tasks']} tasks; "
             f"seeds {list(s['seeds'])}; ensemble of {s['heads']} heads on the frozen SFT backbone.", "",
             "| Rankings collected | Random order | Uncertainty order |", "|---|---|---|"]
    for n, a, b in zip(eff["random"]["rankings"], eff["random"]["accuracy"], eff["uncertainty"]["accuracy"]):
        lines.append(f"| {n} | {100 * a:.1f}% | {100 * b:.1f}% |")
    needed = t["uncertainty_rankings_to_reach_it"]
    lines += ["", f"- Uncertainty order reaches random order's final accuracy ({100 * t['random_final_accuracy']:.1f}% at "
              f"{s['budget']} rankings) " + (f"with {needed} rankings ({100 * t['share_of_budget']:.0f}% of the budget)"
                                             if needed else "not within the budget")
              + f" — target ≤ {100 * s['target_share']:.0f}%: {'met' if t['met'] else 'NOT met'}", "",
              f"| Noisy crowd ({s['crowd_budget']} rankings, gold rate {100 * s['gold_rate']:.0f}%) | Clean crowd "
              "| Noisy, no weights | Noisy, weights from gold | Weights given (labelers 1–3, seed 0) |",
              "|---|---|---|---|---|"]
    for kind, c in results["crowd"].items():
        lines.append(f"| third labeler {kind} | {100 * c['clean']:.1f}% | {100 * c['noisy_unweighted']:.1f}% | "
                     f"{100 * c['noisy_weighted']:.1f}% | {', '.join(f'{w:.2f}' for w in c['per_seed'][0]['labeler_weights'])} |")
    for kind, c in results["crowd"].items():
        lines.append(f"- {kind}: weighted {c['weighted_gap_points']:+.1f} points below clean (target ≤ 2: "
                     f"{'met' if c['met'] else 'NOT met'}); unweighted {c['unweighted_gap_points']:+.1f} points below")
    lines += ["", f"Run time: {results['timings_s']['total']} s."]
    return "\n".join(lines) + "\n"


# ---- the command ----------------------------------------------------------------------------------


def run(out, setup: Setup = FULL_SETUP, log=print) -> dict:
    start = time.monotonic()
    out = Path(out)
    world = build_world(out, setup, log=log)
    log(f"world: {len(world.tasks)} tasks, {sum(map(len, world.eval_groups))} held-out pairs, σ={world.sigma:.3f}")
    results = {"setup": asdict(setup),
               "world": {"tasks": len(world.tasks), "eval_pairs": sum(map(len, world.eval_groups)),
                         "labeler_noise_sigma": world.sigma, "backbone": "SFT model (frozen)"}}
    results["efficiency"] = efficiency(world, setup, log)
    results["crowd"] = crowds(world, setup, log)
    results["timings_s"] = {"total": round(time.monotonic() - start, 1)}
    (out / "label_efficiency.json").write_text(json.dumps(results, indent=2))
    (out / "label_efficiency.md").write_text(markdown_report(results))
    (out / "label_efficiency.svg").write_text(svg_curve(results))
    (out / "noisy_crowd.svg").write_text(svg_crowd(results))
    return results


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "var" / "experiments" / "label_efficiency"))
    parser.add_argument("--tiny", action="store_true", help="the test suite's size: one seed, a few rankings")
    parser.add_argument("--docs", action="store_true", help="also copy the plots, table and results into docs/")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    results = run(args.out, TINY_SETUP if args.tiny else FULL_SETUP, log=lambda m: print(m, flush=True))
    if args.docs:
        for name in ("label_efficiency.svg", "noisy_crowd.svg", "label_efficiency.md", "label_efficiency.json"):
            (ROOT / "docs" / name).write_text((Path(args.out) / name).read_text())
    print(markdown_report(results))
    return results


if __name__ == "__main__":
    sys.path[:0] = [str(ROOT)]
    main()
