"""The reward-model benchmark at the real data sets' shapes: HH-RLHF has long prompts and short answers,
OASST short prompts and long answers, and at either shape K-wise and pairwise give the same loss."""

import json
import statistics
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import rm_kwise_vs_pairwise as bench  # noqa: E402


def lengths(rankings):
    prompts = [len(r["prompt"].split()) for r in rankings]
    answers = [len(a.split()) for r in rankings for a in r["responses"]]
    return statistics.median(prompts), statistics.median(answers)


def test_hh_prompts_are_long_and_oasst_answers_are():
    hh_prompt, hh_answer = lengths(bench.make_rankings(300, 4, 0, 0, seed=1, shape="hh"))
    oasst_prompt, oasst_answer = lengths(bench.make_rankings(300, 4, 0, 0, seed=1, shape="oasst"))
    assert hh_prompt > 2 * hh_answer
    assert oasst_answer > 2 * oasst_prompt
    # Medians follow the data (63 and 24 words for HH, 36 and 94 for OASST) at 4/3 tokens a word.
    assert 63 * 4 / 3 * 0.8 < hh_prompt < 63 * 4 / 3 * 1.25 and 94 * 4 / 3 * 0.8 < oasst_answer < 94 * 4 / 3 * 1.25


def test_shapes_are_reproducible_clipped_and_scaled_to_the_tokenizer():
    a = bench.make_rankings(50, 4, 0, 0, seed=3, shape="oasst", token_cost=2.0)
    assert a == bench.make_rankings(50, 4, 0, 0, seed=3, shape="oasst", token_cost=2.0)
    assert max(len(r["prompt"].split()) for r in a) <= bench.MAX_PROMPT_TOKENS / 2
    assert max(len(x.split()) for r in a for x in r["responses"]) <= bench.MAX_ANSWER_TOKENS / 2
    assert lengths(bench.make_rankings(300, 4, 0, 0, seed=1, shape="hh", token_cost=2.0))[0] < \
        lengths(bench.make_rankings(300, 4, 0, 0, seed=1, shape="hh", token_cost=1.0))[0] * 0.6


def test_an_unknown_shape_is_a_clear_error():
    out = subprocess.run([sys.executable, "benchmarks/rm_kwise_vs_pairwise.py", "--tiny", "--shapes", "hh,wiki"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "--shapes: subset of synthetic,hh,oasst" in out.stderr


@pytest.mark.slow
def test_rm_benchmark_runs_at_a_real_shape_and_losses_agree():
    name = "test_rm_shapes"
    out = subprocess.run([sys.executable, "benchmarks/rm_kwise_vs_pairwise.py", "--tiny", "--ks", "4", "--threads", "1",
                          "--rankings", "4", "--batch-size", "4", "--shapes", "hh", "--modes", "kwise,pairwise,prefix",
                          "--name", name], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    result = json.loads((ROOT / "benchmarks" / "results" / f"{name}.json").read_text())
    (summary,) = result["summary"]
    assert summary["shape"] == "hh" and summary["same_loss"] and summary["sequence_ratio"] == 3.0  # 2·C(4,2) / 4
    assert summary["mean_sequence_tokens"] > 100  # the synthetic tiny shape's are about 70
    assert 0 < result["shapes"]["hh"]["prompts_clipped"] < 0.02
