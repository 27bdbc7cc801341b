"""The hidden-preference experiment: its gold rule, its simulated labelers, and the loop end to end."""

import json
import math
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from experiments.hidden_preference import corpus, gold, report
from experiments.hidden_preference.loop import TINY, Loop
from training.intervals import clustered_rate

ROOT = Path(__file__).resolve().parents[2]
PROMPT = "Tell me about the lamp."


def test_key_term_is_the_corpus_term_the_prompt_names():
    assert gold.key_term(PROMPT) == "lamp"
    with pytest.raises(ValueError):
        gold.key_term("Tell me about nothing.")


def test_gold_rewards_the_term_politeness_and_a_length_in_band():
    best = "Happy to help! The lamp is bright. A good lamp lasts for years. Many people like the lamp."
    judged = gold.judge(PROMPT, best)
    assert (judged.names_term, judged.polite, judged.score) == (True, True, 4.0)
    assert gold.gold_score(PROMPT, "Happy to help! The river is bright. A good river lasts for years here.") == 2.0
    assert gold.gold_score(PROMPT, "The lamp is bright. A good lamp lasts for years. Many people like it.") == 3.0
    # 40 words is 10 past the band: the length point has faded to 0
    assert gold.gold_score(PROMPT, "lamp " + "word " * 39) == 2.0


def test_gold_ranks_are_competition_ranks():
    answers = ["Happy to help! The lamp is bright and warm and useful for many years indeed.", "Okay.", "Well."]
    assert gold.gold_ranks(PROMPT, answers) == [1, 2, 2]


def test_labeler_noise_is_calibrated_to_instructgpt_agreement():
    rng = random.Random(0)
    prompts = [p for p in corpus.prompts() if p["split"] == "rm"]
    answer_sets = [[corpus.answer(rng, p["term"], corpus.DEMONSTRATION_STYLE) for _ in range(4)] for p in prompts * 5]
    scores = [[gold.gold_score(p["text"], a) for a in answers] for p, answers in zip(prompts * 5, answer_sets)]
    sigma = gold.calibrate_noise(scores)
    assert gold.expected_agreement(scores, sigma) == pytest.approx(0.73, abs=1e-3)
    a, b = gold.SimulatedLabeler(sigma, 1), gold.SimulatedLabeler(sigma, 2)
    same = total = 0
    for p, answers in zip(prompts * 5, answer_sets):
        s, t = gold.pairwise_agreement(a.rank(p["text"], answers), b.rank(p["text"], answers))
        same, total = same + s, total + t
    assert same / total == pytest.approx(0.73, abs=0.04)  # measured on 1,800 pairs


def test_prompt_splits_are_disjoint_and_every_prompt_names_its_term():
    prompts = corpus.prompts()
    assert {p["split"] for p in prompts} == set(corpus.SPLITS)
    assert len({p["text"] for p in prompts}) == len(prompts) == 240
    assert all(gold.key_term(p["text"]) == p["term"] for p in prompts)


def test_win_rate_resamples_prompts_not_answers():
    """Four answers per prompt, the same four for each model on half the prompts and a better set on
    the other half: the interval comes from 6 prompts, not 24 independent comparisons."""
    from experiments.hidden_preference import evaluate

    prompts = corpus.prompts()[:6]
    good = [[f"Thank you, {p['term']} is a fine question and here is a polite answer about {p['term']} for you."] * 4
            for p in prompts]
    bad = [["no"] * 4 for _ in prompts]
    answers_a = good[:3] + bad[3:]
    r = evaluate.win_rate(prompts, answers_a, bad)
    assert (r["n"], r["prompts"], r["wins"], r["ties"]) == (24, 6, 12, 12)
    naive = clustered_rate([[1.0]] * 12 + [[0.5]] * 12)  # the same 24 outcomes as if independent
    assert r["win_rate"] == naive["rate"] == 0.75
    assert r["ci_high"] - r["ci_low"] > 1.5 * (naive["ci_high"] - naive["ci_low"])


@pytest.mark.slow
def test_the_command_runs_the_shortened_loop_through_the_platform(tmp_path):
    """The README's command, tiny sizes, in a fresh process: demonstrations and overlapping rankings by
    simulated labelers over the API, a sampling job on a gpu worker, pairs expanded by a default worker,
    SFT / RM / PPO / PPO-ptx trained from frozen snapshots, then the gold evaluation table."""
    out = tmp_path / "run"
    env = dict(os.environ)
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "ARTIFACT_ROOT"):
        env.pop(name, None)  # the run makes its own private platform
    done = subprocess.run([sys.executable, "-m", "experiments.hidden_preference.run", "--tiny", "--out", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())

    facts = results["facts"]
    assert facts["demonstrations_via_api"] == TINY.sft_prompts
    assert facts["ranking_tasks"] == TINY.rm_prompts and facts["rankings"] == TINY.rm_prompts * TINY.labelers_per_task
    pairs_per_ranking = TINY.k * (TINY.k - 1) // 2  # simulated labelers never tie
    assert facts["pairs_on_celery"] == facts["rankings"] * pairs_per_ranking
    assert facts["platform_agreement"]["compared_pairs"] == facts["agreement_pairs"] == TINY.rm_prompts * pairs_per_ranking
    assert facts["platform_agreement"]["overall"] == pytest.approx(facts["labeler_agreement"])

    assert set(results["models"]) == {"base", "sft", "ppo", "ppo_ptx", "dpo", "listwise", "best_of_n"}
    for name in ("base", "ppo", "ppo_ptx", "dpo", "listwise", "best_of_n"):
        win = results["models"][name]["win_vs_sft"]
        assert win["n"] == TINY.eval_prompts * TINY.eval_samples
        assert win["ci_low"] <= win["win_rate"] <= win["ci_high"]
    for name in ("ppo", "ppo_ptx", "dpo", "listwise", "best_of_n"):
        assert math.isfinite(results["models"][name]["kl_to_sft"])
        assert math.isfinite(results["models"][name]["demo_lm_loss"])
    assert 0 <= results["rm_gold_accuracy"]["accuracy"] <= 1
    assert set(results["targets"]) == {"rm_accuracy", "ppo_wins", "ptx_lm_loss", "agreement", "listwise_vs_dpo",
                                       "dpo_vs_ppo"}

    table = (out / "report.md").read_text()
    assert "| PPO-ptx |" in table and "| SFT | 50% (itself) |" in table and "| Listwise DPO |" in table
    svg = (out / "win_rates.svg").read_text()
    assert svg.startswith("<svg") and svg.count("<rect") == 8  # background + 7 bars


@pytest.mark.slow
def test_the_offline_loop_resumes_from_the_stages_it_finished(tmp_path):
    """``--offline``: the engine alone; a second run reuses every finished stage's model folder."""
    first = Loop(tmp_path, TINY, log=lambda message: None).run()
    trained = {"bootstrap", "sft", "ppo", "ppo_ptx", "dpo", "listwise", "best_of_n"}
    assert trained <= set(first["timings_s"])
    second = Loop(tmp_path, TINY, log=lambda message: None).run()
    assert not trained & set(second["timings_s"])  # nothing trained again
    assert second["facts"]["rankings"] == TINY.rm_prompts * TINY.labelers_per_task
