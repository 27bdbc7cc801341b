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


# ---- hygiene: dropout, reference, where the score lands, cut-off answers ------------------------------

# prompts of different lengths, so the batch is left-padded
MIXED_PROMPTS = [prompt_for("fish"), "Please, tell me all about the big old garden today.", prompt_for("ship"),
                 "Tell me, in a few words, about the star."]


@pytest.fixture(scope="module")
def dropout_policy(sft_model, tmp_path_factory):
    """The SFT model with dropout 0.1 everywhere (as GPT-2 checkpoints ship)."""
    from transformers import AutoModelForCausalLM

    out = tmp_path_factory.mktemp("dropout-sft")
    model = AutoModelForCausalLM.from_pretrained(str(sft_model), resid_pdrop=0.1, embd_pdrop=0.1, attn_pdrop=0.1)
    model.save_pretrained(str(out))
    load_tokenizer(sft_model).save_pretrained(str(out))
    return out


def hygiene_rollout(policy, rm_path, **overrides):
    from training.engine.data import encode_prompt
    from training.engine.ppo import ppo_models, rollout

    cfg = PPOConfig(**{"batch_size": 4, "mini_batch_size": 4, "max_new_tokens": 10, **overrides})
    tok, actor, ref, rm, critic = ppo_models(policy, rm_path, cfg)
    torch.manual_seed(0)
    ids = [encode_prompt(tok, p, cfg.max_prompt_length) for p in MIXED_PROMPTS]
    return cfg, (tok, actor, ref, rm, critic), rollout(actor, ref, critic, rm, tok, ids, MIXED_PROMPTS, cfg, cfg.kl_coef)


def test_first_minibatch_ratio_is_exactly_one_and_kl_zero_with_dropout(dropout_policy, synthetic_rm):
    from training.engine.ppo import policy_value_losses

    cfg, (tok, actor, ref, rm, critic), ro = hygiene_rollout(dropout_policy, synthetic_rm[0])
    assert len({len(tok(p)["input_ids"]) for p in MIXED_PROMPTS}) > 1 and (ro["mask"][:, 0] == 0).any()  # left pads
    assert torch.equal(ro["kl"], torch.zeros_like(ro["kl"]))           # reference == policy before any update
    rows = torch.tensor([2, 0, 3, 1])                                      # the first minibatch, shuffled
    *_, ratio = policy_value_losses(actor, critic, ro, rows, cfg, ro["rmask"].sum())
    answer = ro["rmask"][rows].bool()
    assert torch.equal(ratio[answer], torch.ones_like(ratio[answer]))
    raw = load_causal_lm(dropout_policy).train()  # the checkpoint itself: in train mode its dropout is live
    x = ro["seq"][:1]
    assert not torch.equal(raw(input_ids=x).logits, raw(input_ids=x).logits)


def test_score_is_read_at_the_last_real_answer_token(sft_model, synthetic_rm):
    _, (tok, _, _, rm, _), ro = hygiene_rollout(sft_model, synthetic_rm[0])
    Lp = ro["Lp"]
    for row in range(len(MIXED_PROMPTS)):
        prompt = ro["seq"][row, :Lp][ro["mask"][row, :Lp].bool()]        # without the left padding
        answer = ro["seq"][row, Lp:][ro["rmask"][row].bool()]            # up to and including eos
        alone = torch.cat([prompt, answer])[None]
        assert ro["score"][row].item() == pytest.approx(rm(alone, torch.ones_like(alone)).item(), abs=1e-5)
    assert ro["ended"].all()  # the last real answer token is eos, as in training the RM


def test_answers_cut_off_without_eos_get_the_fixed_penalty(sft_model, synthetic_rm):
    _, _, plain = hygiene_rollout(sft_model, synthetic_rm[0], max_new_tokens=3)
    _, _, penalised = hygiene_rollout(sft_model, synthetic_rm[0], max_new_tokens=3, missing_eos_penalty=2.5)
    assert torch.equal(plain["seq"], penalised["seq"])                   # same seed, same answers
    assert (~plain["ended"]).any()
    expected = plain["score"] - 2.5 * (~plain["ended"]).float()
    assert torch.allclose(penalised["score"], expected)
