"""Evaluation: reward-model accuracy, win rates judged by a reward model, and people's side-by-side
comparisons summarised as a win-rate table (InstructGPT's comparison of GPT, SFT, PPO and PPO-ptx).

Win rate and its interval. A comparison between a candidate and a baseline answer is a win, a tie or a
loss for the candidate. Ties count half: win_rate = (wins + ties / 2) / n. The 95% interval is a
bootstrap over prompts (training/intervals.py): all comparisons of one prompt (several labelers,
several samples) are resampled together, because they are not independent.
"""

import random
from collections import defaultdict

from django.db import transaction

from training.intervals import clustered_rate

SCORE = {"win": 1.0, "tie": 0.5, "loss": 0.0}


def win_rate(outcomes_by_prompt):
    """{wins, ties, losses, n, prompts, win_rate, ci_low, ci_high} from one list of outcomes ('win',
    'tie', 'loss' for the candidate) per prompt; the interval resamples prompts (None when n = 0)."""
    groups = [list(g) for g in outcomes_by_prompt]
    counts = tally(o for g in groups for o in g)
    summary = clustered_rate([SCORE[o] for o in g] for g in groups)
    return {**counts, "n": summary["n"], "prompts": summary["prompts"], "win_rate": summary["rate"],
            "ci_low": summary["ci_low"], "ci_high": summary["ci_high"]}


def outcome(candidate_score, baseline_score, tolerance=1e-6):
    """'win', 'tie' or 'loss' for the candidate (a higher score is better)."""
    if abs(candidate_score - baseline_score) <= tolerance:
        return "tie"
    return "win" if candidate_score > baseline_score else "loss"


def tally(outcomes):
    counts = {"wins": 0, "ties": 0, "losses": 0}
    for o in outcomes:
        counts[{"win": "wins", "tie": "ties", "loss": "losses"}[o]] += 1
    return counts


# ---- people's side-by-side comparisons -----------------------------------------------------------


@transaction.atomic
def create_comparison_tasks(pairs, candidate, baseline, labelers_required=1, batch="", seed=0):
    """One comparison task per prompt from (prompt, candidate answer, baseline answer); which answer is
    shown first is random (the labeling UI also shuffles per labeler). Returns the tasks."""
    from labeling.models import Origin, Response, TaskKind
    from labeling.ranking import create_ranking_task

    rng = random.Random(seed)
    tasks = []
    for prompt, candidate_text, baseline_text in pairs:
        answers = [Response.objects.create(prompt=prompt, text=candidate_text, origin=Origin.MODEL, model_version=candidate),
                   Response.objects.create(prompt=prompt, text=baseline_text, origin=Origin.MODEL, model_version=baseline)]
        rng.shuffle(answers)
        tasks.append(create_ranking_task(prompt, answers, labelers_required=labelers_required,
                                         kind=TaskKind.COMPARISON, batch=batch))
    return tasks


def human_outcomes():
    """Outcomes of submitted comparison rankings: {(model a, model b): {prompt id: [outcome for a, ...]}}
    with a < b by id. A labeler's ranks [1, 2] mean the first is better; equal ranks are a tie. Rankings
    marked unrankable are left out."""
    from labeling.models import RankedResponse, TaskKind

    items = (RankedResponse.objects.filter(ranking__task__kind=TaskKind.COMPARISON, ranking__unrankable=False,
                                           response__model_version__isnull=False)
             .values_list("ranking_id", "ranking__task__prompt_id", "response__model_version_id", "rank"))
    by_ranking = defaultdict(list)
    for ranking_id, prompt_id, model_id, rank in items:
        by_ranking[(ranking_id, prompt_id)].append((model_id, rank))
    results = defaultdict(lambda: defaultdict(list))
    for (_, prompt_id), entries in by_ranking.items():
        if len(entries) != 2 or entries[0][0] == entries[1][0]:
            continue
        (a, rank_a), (b, rank_b) = sorted(entries)
        results[(a, b)][prompt_id].append(outcome(-rank_a, -rank_b))
    return results


def declared_orientation():
    """(candidate, baseline) pairs that evaluation jobs declared, so table rows read the way they were asked."""
    from training.models import Job, JobKind

    pairs = set()
    for config_result in Job.objects.filter(kind=JobKind.EVALUATE).values_list("result", flat=True):
        if config_result and config_result.get("candidate") and config_result.get("baseline"):
            pairs.add((config_result["candidate"], config_result["baseline"]))
    return pairs


def flip(o):
    return {"win": "loss", "loss": "win", "tie": "tie"}[o]


def win_rate_table():
    """Rows of the win-rate table: people's comparisons per model pair, then reward-model-judged runs."""
    from training.models import Job, JobKind, JobState, ModelVersion

    names = dict(ModelVersion.objects.values_list("pk", "name"))
    declared = declared_orientation()
    rows = []
    for (a, b), by_prompt in sorted(human_outcomes().items()):
        candidate, baseline = (a, b) if (a, b) in declared or ((b, a) not in declared and a > b) else (b, a)
        groups = [[o if candidate == a else flip(o) for o in outcomes] for _, outcomes in sorted(by_prompt.items())]
        rows.append({"model": candidate, "model_name": names.get(candidate, ""), "baseline": baseline,
                     "baseline_name": names.get(baseline, ""), "judge": "human", "job": None, **win_rate(groups)})
    jobs = Job.objects.filter(kind=JobKind.EVALUATE, state=JobState.SUCCEEDED, result__mode="reward_win_rate").order_by("pk")
    for job in jobs:
        r = job.result
        rows.append({"model": r["candidate"], "model_name": names.get(r["candidate"], ""), "baseline": r["baseline"],
                     "baseline_name": names.get(r["baseline"], ""), "judge": f"reward model #{r['judge']}",
                     "job": job.pk, "prompts": r.get("prompts", r["n"]),
                     **{k: r[k] for k in ("wins", "ties", "losses", "n", "win_rate", "ci_low", "ci_high")}})
    return rows


# ---- engine-side pieces (run in the worker) ------------------------------------------------------


def reward_model_accuracy(reward_model_path, data_path, max_length=512):
    """Pairwise accuracy (and loss) of a reward model on a pairs or rankings file."""
    from training.engine.data import load_records, to_ranking
    from training.engine.reward import encode_ranking, evaluate_rankings, load_reward_model

    rm = load_reward_model(reward_model_path)
    rm.max_length = max_length
    items = [encode_ranking(rm.tokenizer, to_ranking(r), max_length) for r in load_records(str(data_path))]
    metrics = evaluate_rankings(rm, rm.tokenizer, items)
    return {"accuracy": metrics["eval_pair_accuracy"], "loss": metrics["eval_loss"], "pairs": metrics["eval_pairs"],
            "ranking_accuracy": metrics["eval_ranking_accuracy"], "rankings": metrics["eval_rankings"]}


def reward_judged(prompts, candidate_answers, baseline_answers, reward_model_path):
    """Score both answers to each prompt with the reward model; counts, win rate and mean rewards."""
    from training.engine.reward import load_reward_model

    rm = load_reward_model(reward_model_path)
    c = rm.score([(p, a) for p, a in zip(prompts, candidate_answers)])
    b = rm.score([(p, a) for p, a in zip(prompts, baseline_answers)])
    return {**win_rate([outcome(x, y)] for x, y in zip(c, b)),  # one comparison per prompt
            "mean_reward_candidate": sum(c) / max(len(c), 1), "mean_reward_baseline": sum(b) / max(len(b), 1)}
