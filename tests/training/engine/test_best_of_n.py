"""Best-of-N and rejection-sampling fine-tuning (training/engine/best_of_n.py)."""

import json

import pytest

from tests.training.engine.synthetic import HELD_OUT_NOUNS, TRAIN_NOUNS, prompt_for
from tests.support.engine import stop_after
from training.engine.best_of_n import (KEPT_FILE, BoNConfig, argmax, best_of_n, evaluate_best_of_n,
                                       rejection_sampling)
from training.engine.config import ConfigError, from_dict
from training.engine.data import read_jsonl
from training.engine.reward import load_reward_model

PROMPTS = [{"text": prompt_for(n)} for n in TRAIN_NOUNS]
SAMPLING = dict(max_new_tokens=8, temperature=1.0)


def test_best_of_n_keeps_the_reward_models_argmax(sft_model, synthetic_rm):
    rm = load_reward_model(synthetic_rm[0])
    kept, stopped = best_of_n(sft_model, rm, PROMPTS[:8], BoNConfig(n=4, **SAMPLING))
    assert not stopped and len(kept) == 8
    for k in kept:
        assert len(k["responses"]) == 4
        rewards = [rm.score([(k["prompt"], answer)])[0] for answer in k["responses"]]  # one by one, afresh
        assert k["rewards"] == pytest.approx(rewards, abs=1e-4)
        best = max(range(4), key=lambda i: rewards[i])
        assert k["best"] == best and k["completion"] == k["responses"][best]
    assert any(len(set(k["responses"])) > 1 for k in kept)  # there was a choice to make


def test_argmax_keeps_the_first_of_equal_rewards():
    assert argmax([0.1, 0.7, 0.7, -2.0]) == 1
    assert argmax([-1.0]) == 0


def test_best_of_n_at_inference_beats_plain_sampling_by_reward(sft_model, synthetic_rm):
    held = [{"text": prompt_for(n)} for n in HELD_OUT_NOUNS] * 4
    result = evaluate_best_of_n(sft_model, synthetic_rm[0], held, n=4, **SAMPLING)
    print(f"held-out reward: best-of-4 {result['eval_best_of_n_reward']:.2f}, "
          f"one sample {result['eval_mean_reward']:.2f}")
    assert result["eval_best_of_n_reward"] > result["eval_mean_reward"]
    assert len(result["answers"]) == len(held)


def test_rejection_sampling_fine_tunes_on_the_kept_answers_and_resumes(sft_model, synthetic_rm, tmp_path):
    cfg = BoNConfig(n=4, epochs=4, batch_size=4, learning_rate=2e-3, log_every=2, **SAMPLING)
    part = rejection_sampling(sft_model, synthetic_rm[0], PROMPTS, tmp_path / "bon", cfg, should_stop=stop_after(5))
    assert part.stopped and part.steps == 4  # should_stop was asked once between the two sampling batches
    kept = read_jsonl(tmp_path / "bon" / KEPT_FILE)
    assert [k["completion"] for k in kept] == [k["responses"][argmax(k["rewards"])] for k in kept]
    done = rejection_sampling(sft_model, synthetic_rm[0], PROMPTS, tmp_path / "bon", cfg)
    assert not done.stopped and done.steps == done.total_steps == 16  # 16 prompts / 4 per batch × 4 epochs
    assert read_jsonl(tmp_path / "bon" / KEPT_FILE) == kept  # the resumed run fine-tuned on the same answers

    before = evaluate_best_of_n(sft_model, synthetic_rm[0], PROMPTS * 2, n=1, **SAMPLING)
    after = evaluate_best_of_n(done.output_dir, synthetic_rm[0], PROMPTS * 2, n=1, **SAMPLING)
    print(f"reward of one sample: SFT {before['eval_mean_reward']:.2f} -> rejection-sampled "
          f"{after['eval_mean_reward']:.2f} (kept answers {done.metrics['best_of_n_reward']:.2f})")
    assert after["eval_mean_reward"] > before["eval_mean_reward"]


def test_inference_only_writes_the_kept_answers_without_training(sft_model, synthetic_rm, tmp_path):
    result = rejection_sampling(sft_model, synthetic_rm[0], PROMPTS[:4], tmp_path / "bon",
                                BoNConfig(n=2, finetune=False, **SAMPLING))
    assert len(read_jsonl(tmp_path / "bon" / KEPT_FILE)) == 4
    assert not (tmp_path / "bon" / "model.safetensors").exists() and result.metrics["prompts"] == 4


@pytest.mark.parametrize("fields, field", [({"n": 0}, "n"), ({"top_p": 0.0}, "top_p"),
                                           ({"learning_rate": -1.0}, "learning_rate"), ({"n": "four"}, "n")])
def test_bad_configs_are_refused_naming_the_field(fields, field):
    with pytest.raises(ConfigError) as e:
        from_dict(BoNConfig, fields)
    assert e.value.field == field


def test_cli_best_of_n(sft_model, synthetic_rm, tmp_path, capsys):
    from training.engine.__main__ import main
    from training.engine.data import write_jsonl

    write_jsonl(tmp_path / "prompts.jsonl", PROMPTS[:4])
    assert main(["bon", "--model", str(sft_model), "--reward-model", str(synthetic_rm[0]), "--data",
                 str(tmp_path / "prompts.jsonl"), "--out", str(tmp_path / "out"), "--n", "3", "--max-new-tokens", "6",
                 "--batch-size", "4", "--log-every", "1"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["steps"] == 1 and out["metrics"]["prompts"] == 4
    assert len(read_jsonl(tmp_path / "out" / KEPT_FILE)[0]["responses"]) == 3
