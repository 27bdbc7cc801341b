"""The hidden-preference experiment: its gold rule, its simulated labelers, and the loop end to end."""

import json
import math
import random

import pytest

from experiments.hidden_preference import corpus, gold, report
from experiments.hidden_preference.loop import TINY, Loop

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


def test_wilson_interval_brackets_the_rate():
    low, high = gold.wilson_interval(65, 100)
    assert 0.55 < low < 0.65 < high < 0.74


@pytest.mark.slow
def test_shortened_loop_runs_end_to_end(tmp_path):
    """bootstrap → SFT → sampling → overlapping gold-noisy rankings → RM → PPO / PPO-ptx → gold evaluation."""
    results = Loop(tmp_path, TINY, log=lambda message: None).run()

    assert set(results["models"]) == {"base", "sft", "ppo", "ppo_ptx"}
    for name in ("base", "ppo", "ppo_ptx"):
        win = results["models"][name]["win_vs_sft"]
        assert win["n"] == TINY.eval_prompts * TINY.eval_samples
        assert win["ci_low"] <= win["win_rate"] <= win["ci_high"]
    for name in ("ppo", "ppo_ptx"):
        assert math.isfinite(results["models"][name]["kl_to_sft"])
        assert math.isfinite(results["models"][name]["demo_lm_loss"])
    assert results["facts"]["rankings"] == TINY.rm_prompts * TINY.labelers_per_task
    assert results["facts"]["agreement_pairs"] > 0
    assert 0 <= results["rm_gold_accuracy"]["accuracy"] <= 1
    assert json.loads((tmp_path / "results.json").read_text())["targets"].keys() == results["targets"].keys()

    table = report.markdown_table(results)
    assert "| PPO-ptx |" in table and "| SFT | 50% (itself) |" in table
    svg = report.svg_win_rates(results)
    assert svg.startswith("<svg") and svg.count("<rect") == 5  # background + 4 bars


@pytest.mark.slow
def test_labels_reach_training_through_the_platform(start_worker, tmp_path, settings):
    """Demonstrations and overlapping rankings by simulated labelers over the API; pairs expanded by a real
    Celery worker; SFT and RM trained from frozen snapshots."""
    from experiments.hidden_preference import platform_labeling as api
    from experiments.hidden_preference.loop import split
    from labeling.models import ComparisonPair, Ranking
    from tests.support import wait_for
    from training.datasets import freeze_snapshot
    from training.engine.data import read_jsonl

    settings.ARTIFACT_ROOT = str(tmp_path / "artifacts")
    start_worker(queues="default")
    sft_records, rm_records = split("sft", TINY.sft_prompts), split("rm", TINY.rm_prompts)
    prompts = api.add_prompts(sft_records + rm_records)
    api.demonstration_tasks([prompts[r["text"]] for r in sft_records])
    writer = api.labeler_client("writer")
    assert api.write_demonstrations(writer, {r["text"]: r["term"] for r in sft_records}, seed=1) == TINY.sft_prompts
    sft_snapshot = freeze_snapshot("sft", {"include_submitted": True})
    assert sft_snapshot.counts["examples"] == len(read_jsonl(sft_snapshot.file_path)) == TINY.sft_prompts

    loop = Loop(tmp_path / "run", TINY, log=lambda message: None)
    sft = loop.sft(loop.bootstrap(), sft_snapshot.file_path)
    sampled = loop.sample_rm_answers(sft)
    api.ranking_tasks(sampled, prompts, labelers_required=2)
    for i in range(2):
        assert api.rank_queue(api.labeler_client(f"ranker{i}"), gold.SimulatedLabeler(0.5, seed=i)) == TINY.rm_prompts

    pairs_per_ranking = TINY.k * (TINY.k - 1) // 2  # simulated labelers never tie
    wait_for(lambda: ComparisonPair.objects.count() == 2 * TINY.rm_prompts * pairs_per_ranking, timeout=60,
             message="the worker expands every ranking's pairs")
    assert not Ranking.objects.filter(pairs_expanded_at=None).exists()
    same, compared = api.measured_agreement()
    assert compared == TINY.rm_prompts * pairs_per_ranking and 0 < same <= compared

    rankings = freeze_snapshot("rankings")
    assert rankings.counts["rankings"] == len(read_jsonl(rankings.file_path)) == 2 * TINY.rm_prompts
    rm = loop.reward_model(sft, rankings.file_path, sft_snapshot.file_path)
    assert (rm / "reward_head.safetensors").exists()
