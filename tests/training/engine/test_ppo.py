import pytest
import torch

from tests.training.engine.synthetic import HELD_OUT_NOUNS, NOUNS, TRAIN_NOUNS, demonstrations, prompt_for
from training.engine.config import ConfigError
from training.engine.device import load_causal_lm, load_tokenizer
from training.engine.ppo import (AdaptiveKLController, PPOConfig, evaluate_policy, gae, lm_eval_loss,
                                 ppo_config_from_dict, train_ppo)
from training.engine.reward import load_reward_model

TRAIN_PROMPTS = [{"text": prompt_for(n)} for n in TRAIN_NOUNS]
EVAL_PROMPTS = [{"text": prompt_for(n)} for n in HELD_OUT_NOUNS] * 8
PTX = demonstrations(NOUNS, seed=5)
SMALL = dict(iterations=12, batch_size=16, mini_batch_size=8, max_new_tokens=12, learning_rate=3e-4, kl_coef=0.2)


@pytest.fixture(scope="module")
def ppo_runs(sft_model, synthetic_rm, tmp_path_factory):
    rm_path, _ = synthetic_rm
    out = tmp_path_factory.mktemp("ppo")
    plain = train_ppo(sft_model, rm_path, TRAIN_PROMPTS, out / "ppo", PPOConfig(**SMALL), eval_prompts=EVAL_PROMPTS)
    ptx = train_ppo(sft_model, rm_path, TRAIN_PROMPTS, out / "ppo-ptx", PPOConfig(**SMALL, ptx_coef=1.0),
                    eval_prompts=EVAL_PROMPTS, ptx_data=PTX)
    return plain, ptx


def test_ppo_raises_reward_with_bounded_kl(sft_model, synthetic_rm, ppo_runs):
    plain, _ = ppo_runs
    tok, sft = load_tokenizer(sft_model), load_causal_lm(sft_model)
    before = evaluate_policy(sft, sft, load_reward_model(synthetic_rm[0]), tok, EVAL_PROMPTS, max_new_tokens=12)
    after = plain.metrics
    print(f"PPO held-out reward {before['eval_reward']:.2f} -> {after['eval_reward']:.2f}, KL {after['eval_kl']:.2f}")
    assert after["eval_reward"] > before["eval_reward"] + 1.0
    assert after["eval_kl"] < 8.0
    for key in ("reward", "kl", "entropy", "clipfrac", "value_loss", "answer_length"):
        assert key in after
    assert (plain.output_dir and load_causal_lm(plain.output_dir) is not None)


def test_ppo_ptx_keeps_demonstration_lm_loss_lower(sft_model, ppo_runs):
    plain, ptx = ppo_runs
    tok = load_tokenizer(sft_model)
    loss_sft = lm_eval_loss(load_causal_lm(sft_model), tok, PTX)
    loss_plain = lm_eval_loss(load_causal_lm(plain.output_dir), tok, PTX)
    loss_ptx = lm_eval_loss(load_causal_lm(ptx.output_dir), tok, PTX)
    print(f"demonstration LM loss: SFT {loss_sft:.3f}, PPO {loss_plain:.3f}, PPO-ptx {loss_ptx:.3f}; "
          f"reward PPO {plain.metrics['eval_reward']:.2f}, PPO-ptx {ptx.metrics['eval_reward']:.2f}")
    assert loss_ptx < loss_plain


def test_gae_with_gamma_one_and_lambda_one_is_reward_to_go():
    rewards = torch.tensor([[0.0, -0.1, 1.0, 0.0]])
    values = torch.zeros(1, 4)
    mask = torch.tensor([[1.0, 1.0, 1.0, 0.0]])
    adv, returns = gae(rewards, values, mask, gamma=1.0, lam=1.0)
    assert adv[0].tolist() == pytest.approx([0.9, 0.9, 1.0, 0.0])


def test_adaptive_kl_controller_moves_towards_target():
    ctl = AdaptiveKLController(0.1, target=6.0, horizon=100)
    ctl.update(12.0, 10)  # KL too high: β grows (error clipped at 0.2)
    assert ctl.value == pytest.approx(0.1 * (1 + 0.2 * 10 / 100))
    ctl.update(0.0, 10)
    assert ctl.value < 0.1 * 1.02


def test_instructgpt_preset_and_validation():
    cfg = ppo_config_from_dict({"preset": "instructgpt", "iterations": 3})
    assert (cfg.kl_coef, cfg.ptx_coef, cfg.cliprange, cfg.gamma, cfg.iterations) == (0.02, 27.8, 0.2, 1.0, 3)
    with pytest.raises(ConfigError) as e:
        ppo_config_from_dict({"preset": "nope"})
    assert e.value.field == "preset"
    with pytest.raises(ConfigError) as e:
        ppo_config_from_dict({"mini_batch_size": 32, "batch_size": 16})
    assert e.value.field == "mini_batch_size"
