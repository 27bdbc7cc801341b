"""LoRA (peft) for SFT, RM and PPO: only the adapters (and the RM head) train, the saved directory holds the
MERGED model (plus the adapter) so every loader reads it like any other, and PPO's reference is the policy
with its adapters disabled."""

import json

import pytest
import torch
from safetensors.torch import load_file

from tests.training.engine.synthetic import TRAIN_NOUNS, demonstrations, prompt_for, rankings
from training.engine.config import ConfigError
from training.engine.ppo import PPOConfig, ppo_models, train_ppo
from training.engine.reward import RMConfig, load_reward_model, train_reward_model
from training.engine.sampling import SamplingConfig, sample
from training.engine.sft import SFTConfig, train_sft

LORA = {"lora_r": 4, "lora_alpha": 8.0}


def changed_keys(before: dict, after: dict) -> set:
    assert before.keys() == after.keys()
    return {k for k in before if not torch.equal(before[k], after[k])}


def test_sft_lora_trains_adapters_and_saves_the_merged_model(tiny_model, tmp_path):
    out = tmp_path / "sft-lora"
    train_sft(tiny_model, demonstrations(TRAIN_NOUNS[:4]), out,
              SFTConfig(max_steps=3, batch_size=4, learning_rate=1e-2, eval_fraction=0.0, **LORA))
    assert json.loads((out / "adapter" / "adapter_config.json").read_text())["r"] == 4
    changed = changed_keys(load_file(str(tiny_model / "model.safetensors")), load_file(str(out / "model.safetensors")))
    assert changed and all(".attn.c_attn." in k for k in changed)  # GPT-2's default target: merged into c_attn
    answers = sample(out, [{"text": prompt_for("bird")}], None, SamplingConfig(k=2, max_new_tokens=4))
    assert len(answers.records[0]["responses"]) == 2


def test_reward_model_lora_trains_adapters_and_head(tiny_model, tmp_path):
    out = tmp_path / "rm-lora"
    train_reward_model(tiny_model, rankings(TRAIN_NOUNS[:4], k=3, n_per_noun=2), out,
                       RMConfig(max_steps=3, batch_size=4, learning_rate=1e-2, eval_fraction=0.0,
                                lora_target_modules="c_attn,c_proj", **LORA))
    base = load_reward_model(tiny_model).backbone.state_dict()
    trained = load_reward_model(out)
    changed = changed_keys(base, trained.backbone.state_dict())
    assert changed and all(".c_attn." in k or ".c_proj." in k for k in changed)
    assert (out / "adapter" / "adapter_config.json").exists()
    assert len(trained.score([(prompt_for("bird"), "The bird is good.")])) == 1


def test_unknown_lora_target_is_a_config_error(tiny_model, tmp_path):
    with pytest.raises(ConfigError) as e:
        train_sft(tiny_model, demonstrations(TRAIN_NOUNS[:2]), tmp_path / "x",
                  SFTConfig(max_steps=1, lora_r=2, lora_target_modules="no_such_module"))
    assert e.value.field == "lora_target_modules"


def test_ppo_lora_reference_is_the_policy_without_adapters(sft_model, synthetic_rm, tmp_path):
    cfg = PPOConfig(iterations=2, batch_size=4, mini_batch_size=4, ppo_epochs=1, max_new_tokens=6, learning_rate=1e-2,
                    **LORA)
    _, actor, ref, _, _ = ppo_models(sft_model, synthetic_rm[0], cfg)
    assert ref is None and sum(p.requires_grad for p in actor.parameters()) > 0  # no second copy of the weights
    out = tmp_path / "ppo-lora"
    train_ppo(sft_model, synthetic_rm[0], [{"text": prompt_for(n)} for n in TRAIN_NOUNS[:4]], out, cfg)
    lines = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert lines[0]["kl"] == 0.0 and lines[1]["kl"] != 0.0  # identical before the first update, then apart
    assert (out / "adapter" / "adapter_config.json").exists()
    changed = changed_keys(load_file(str(sft_model / "model.safetensors")), load_file(str(out / "model.safetensors")))
    assert changed and all(".attn.c_attn." in k for k in changed)
    with pytest.raises(ConfigError) as e:
        train_ppo(sft_model, synthetic_rm[0], [{"text": "x"}], tmp_path / "y", cfg, reference=sft_model)
    assert e.value.field == "reference"
