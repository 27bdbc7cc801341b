"""The label-efficiency experiment (experiments/hidden_preference/label_efficiency.py).

A world whose features carry the gold rule by construction (what the rule looks at, plus noise) checks
the experiment's logic where the outcome must hold: the ensemble learns the gold rule from the simulated
labelers, the platform's gold weights zero an adversarial labeler, and weighting gives back the clean
crowd's reward model. The --tiny run checks the whole pipeline's outputs on real (tiny) models.
"""

import json
import random
import xml.etree.ElementTree as ET
from dataclasses import replace

import pytest
import torch

from experiments.hidden_preference import corpus, gold
from experiments.hidden_preference import label_efficiency as le
from experiments.hidden_preference.loop import split


def judged_world(n_tasks=120, k=4, seed=0) -> le.World:
    """Tasks of K generated answers to RM prompts; an answer's features are what the gold rule judges
    (names the term, polite, length score) and three noise columns; held-out pairs from eval prompts."""
    rng = random.Random(seed)
    rows = []

    def features(prompt, answer):
        j = gold.judge(prompt, answer)
        low, high = gold.LENGTH_BAND
        length = max(0.0, 1.0 - max(low - j.words, j.words - high, 0) / gold.LENGTH_FADE)
        rows.append([float(j.names_term), float(j.polite), length] + [rng.gauss(0, 1) for _ in range(3)])
        return len(rows) - 1

    style = corpus.Style(p_term=0.5, p_polite=0.5)
    tasks = []
    for i in range(n_tasks):
        p = split("rm", 60)[i % 60]
        answers = [corpus.answer(rng, p["term"], style) for _ in range(k)]
        tasks.append({"prompt": p["text"], "responses": answers, "rows": [features(p["text"], a) for a in answers],
                      "gold": gold.gold_ranks(p["text"], answers)})
    groups = []
    for p in split("eval", 30):
        answers = [corpus.answer(rng, p["term"], style) for _ in range(k)]
        scores = [gold.gold_score(p["text"], a) for a in answers]
        ids = [features(p["text"], a) for a in answers]
        groups.append([(ids[a], ids[b], scores[a] > scores[b]) for a in range(k) for b in range(a + 1, k)
                       if scores[a] != scores[b]])
    sigma = gold.calibrate_noise([[gold.gold_score(t["prompt"], a) for a in t["responses"]] for t in tasks])
    return le.World(tasks, groups, torch.tensor(rows), sigma)


SETUP = replace(le.FULL_SETUP, seeds=(0,), heads=3, head_steps=100, crowd_budget=120, gold_rate=0.10)


def test_weights_from_gold_zero_an_adversarial_labeler_and_give_back_the_clean_crowd():
    world = judged_world()
    result = le.crowd(world, SETUP, "adversarial", seed=0)
    assert result["clean"] > 0.85                      # the ensemble learns the gold rule from the labelers
    assert result["labeler_weights"][2] == 0.0         # the reverser: gold accuracy below ½
    assert min(result["labeler_weights"][:2]) > 0.3
    assert result["gold_pairs"][0] == result["gold_pairs"][2] > 0  # everyone ranks the same gold tasks
    assert abs(result["noisy_weighted"] - result["clean"]) <= 0.02
    assert result["noisy_unweighted"] < result["noisy_weighted"]


def test_a_random_labeler_weighs_little():
    result = le.crowd(judged_world(), SETUP, "random", seed=0)
    assert result["labeler_weights"][2] < 0.3 < min(result["labeler_weights"][:2])


@pytest.mark.slow
def test_tiny_run_writes_real_results(tmp_path):
    results = le.main(["--tiny", "--out", str(tmp_path)])
    saved = json.loads((tmp_path / "label_efficiency.json").read_text())
    eff = saved["efficiency"]
    s = le.TINY_SETUP
    assert eff["random"]["rankings"] == list(range(s.start, s.budget + 1, s.step)) == eff["uncertainty"]["rankings"]
    # both orders start from the same random rankings, so their first points are the same model
    assert eff["random"]["accuracy"][0] == eff["uncertainty"]["accuracy"][0]
    assert eff["random"]["accuracy"] != eff["uncertainty"]["accuracy"]  # and then they part
    assert all(0 <= a <= 1 for order in ("random", "uncertainty") for a in eff[order]["accuracy"])
    assert saved["world"]["eval_pairs"] > 0 and saved["world"]["tasks"] >= s.crowd_budget
    for kind in ("random", "adversarial"):
        assert set(saved["crowd"][kind]) >= {"clean", "noisy_unweighted", "noisy_weighted", "met"}
    assert saved["crowd"]["adversarial"]["per_seed"][0]["labeler_weights"][2] == 0.0
    assert results["efficiency"]["target"] == eff["target"]
    curve = ET.parse(tmp_path / "label_efficiency.svg").getroot()
    assert len(curve.findall("{http://www.w3.org/2000/svg}polyline")) == 2
    bars = ET.parse(tmp_path / "noisy_crowd.svg").getroot()
    assert len(bars.findall("{http://www.w3.org/2000/svg}rect")) == 1 + 2 * 3 + 3  # background, bars, legend
    assert "| Rankings collected |" in (tmp_path / "label_efficiency.md").read_text()
