"""PPO with a per-token KL penalty and PPO-ptx (InstructGPT, after Ziegler et al. 2019).

Models: policy π_RL (initialised from SFT, trained), reference π_SFT (frozen), reward model r_θ (frozen),
value model V (a copy of the RM backbone + head, trained: "value function initialised from the RM").

One iteration:
1. rollout: a batch of prompts, one sampled answer each (``generate`` with KV cache, temperature/top-p);
   answer tokens after the first eos are masked.
2. rewards per answer token t:   R_t = −β · (log π_RL(y_t|·) − log π_SFT(y_t|·))   (+ r_θ(x, y) at the last token)
   β fixed, or adaptive to a target KL (Ziegler et al.: β ← β·(1 + clip(KL/target − 1, ±0.2)·n/horizon)).
3. GAE:  δ_t = R_t + γ V_{t+1} − V_t,   A_t = Σ_l (γλ)^l δ_{t+l},   returns = A + V  (InstructGPT: γ = 1).
4. ``ppo_epochs`` passes over minibatches:
   L = −E[min(ρA, clip(ρ, 1−ε, 1+ε)A)] + c_v · ½E[max((V−R)², (clip(V, V_old±ε_v)−R)²)] + γ_ptx · L_LM(ptx batch)
   ρ = π_RL/π_old. The PPO-ptx term is in the SAME backward pass/optimizer step as each PPO minibatch.

Presets: ``PPOConfig.from_preset("instructgpt")`` → β 0.02, γ_ptx 27.8, ε 0.2, γ 1.0. The plain defaults are
small-model values that train the tiny test models on a CPU.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from .checkpoint import append_metrics, run_steps, seed_everything
from .config import ConfigError, TrainResult, check_common, check_positive, check_range, from_dict
from .data import collate_lm, encode_prompt, epoch_schedule, load_records, pad, position_ids_from_mask, prompt_of, sft_example, Truncation
from .sampling import decode_responses, generate


@dataclass
class PPOConfig:
    iterations: int = 20          # rollout + update rounds (one "step" each)
    batch_size: int = 16          # prompts per rollout (one answer each)
    mini_batch_size: int = 8
    ppo_epochs: int = 4
    learning_rate: float = 1e-4
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    max_new_tokens: int = 24
    temperature: float = 1.0
    top_p: float = 1.0
    max_prompt_length: int = 256
    kl_coef: float = 0.05         # β
    adaptive_kl: bool = False
    target_kl: float = 6.0        # nats per answer, for the adaptive controller
    kl_horizon: int = 10000
    gamma: float = 1.0            # discount (InstructGPT: none)
    lam: float = 0.95             # GAE λ
    cliprange: float = 0.2        # ε
    cliprange_value: float = 0.2
    vf_coef: float = 0.1
    ptx_coef: float = 0.0         # γ_ptx (PPO-ptx when > 0)
    ptx_batch_size: int = 8
    ptx_max_length: int = 256
    whiten_advantages: bool = True
    seed: int = 0
    log_every: int = 1
    save_every: int = 10
    mixed_precision: str = "no"

    def __post_init__(self):
        check_common(self)
        for name in ("iterations", "mini_batch_size", "ppo_epochs", "max_new_tokens", "max_prompt_length",
                     "target_kl", "kl_horizon", "ptx_batch_size", "ptx_max_length"):
            check_positive(name, getattr(self, name))
        check_positive("temperature", self.temperature)
        check_range("top_p", self.top_p, 0.0, 1.0, low_open=True)
        for name in ("kl_coef", "ptx_coef", "vf_coef", "cliprange", "cliprange_value"):
            check_positive(name, getattr(self, name), allow_zero=True)
        check_range("gamma", self.gamma, 0.0, 1.0)
        check_range("lam", self.lam, 0.0, 1.0)
        if self.mini_batch_size > self.batch_size:
            raise ConfigError("mini_batch_size", "must be <= batch_size")

    @classmethod
    def from_preset(cls, name: str, **overrides) -> "PPOConfig":
        if name not in PRESETS:
            raise ConfigError("preset", f"unknown preset, choose from {', '.join(PRESETS)}")
        return from_dict(cls, {**PRESETS[name], **overrides})


PRESETS = {
    # Ouyang et al. 2022: β = 0.02, γ_ptx = 27.8, clip 0.2, no discount.
    "instructgpt": {"kl_coef": 0.02, "ptx_coef": 27.8, "cliprange": 0.2, "gamma": 1.0, "lam": 0.95},
    "small": {},
}


def ppo_config_from_dict(d: dict) -> PPOConfig:
    """Like ``from_dict`` but accepts ``"preset"``: preset values first, then the given fields."""
    d = dict(d or {})
    name = d.pop("preset", None)
    if name is None:
        return from_dict(PPOConfig, d)
    if not isinstance(name, str):
        raise ConfigError("preset", "expected str")
    return PPOConfig.from_preset(name, **d)


class AdaptiveKLController:
    """Ziegler et al. 2019: move β so the observed KL tracks ``target``."""

    def __init__(self, init: float, target: float | None, horizon: int):
        self.value, self.target, self.horizon = init, target, horizon

    def update(self, current_kl: float, n_steps: int):
        if self.target is None:
            return
        error = max(min(current_kl / self.target - 1, 0.2), -0.2)
        self.value *= 1 + error * n_steps / self.horizon

    def state_dict(self):
        return {"value": self.value}

    def load_state_dict(self, state):
        self.value = state["value"]


def masked_mean(x, mask):
    return (x * mask).sum() / mask.sum().clamp(min=1)


def masked_whiten(x, mask, eps=1e-8):
    mean = masked_mean(x, mask)
    var = masked_mean((x - mean) ** 2, mask)
    return (x - mean) * torch.rsqrt(var + eps)


def response_logprobs(model, seq, mask, prompt_length, temperature=1.0, with_entropy=False):
    """log π(y_t | ·) for the answer tokens of ``seq`` (and the per-token entropy)."""
    logits = model(input_ids=seq, attention_mask=mask, position_ids=position_ids_from_mask(mask)).logits
    logits = logits[:, prompt_length - 1:-1].float() / temperature
    logp_all = F.log_softmax(logits, -1)
    logp = logp_all.gather(-1, seq[:, prompt_length:, None]).squeeze(-1)
    if not with_entropy:
        return logp
    entropy = -(logp_all.exp() * logp_all).sum(-1)
    return logp, entropy


def gae(rewards, values, mask, gamma: float, lam: float):
    """Generalised advantage estimation over answer tokens (values/rewards already masked)."""
    T = rewards.size(1)
    advantages = torch.zeros_like(rewards)
    last = torch.zeros_like(rewards[:, 0])
    for t in reversed(range(T)):
        next_value = values[:, t + 1] if t + 1 < T else torch.zeros_like(last)
        delta = rewards[:, t] + gamma * next_value - values[:, t]
        last = delta + gamma * lam * last
        advantages[:, t] = last
    advantages = advantages * mask
    return advantages, advantages + values


@torch.no_grad()
def score_answers(rm, policy_tokenizer, seq, mask, prompts, answers, same_vocab: bool):
    """r_θ(x, y) at the last real token; re-encode text when the RM has another tokenizer."""
    if same_vocab:
        return rm(seq, mask)
    return torch.tensor(rm.score(list(zip(prompts, answers))), device=seq.device)


@torch.no_grad()
def evaluate_policy(policy, ref, rm, tokenizer, prompts, max_new_tokens=24, temperature=1.0, top_p=1.0,
                    max_prompt_length=256, seed=1234, batch_size=32, do_sample=True) -> dict:
    """Mean RM reward, KL(π‖π_ref) (sum over answer tokens, sampled estimate) and answer length."""
    records = load_records(prompts)
    same_vocab = len(rm.tokenizer) == len(tokenizer)
    rewards, kls, lengths = [], [], []
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        for i in range(0, len(records), batch_size):
            chunk = [prompt_of(r) for r in records[i:i + batch_size]]
            p_ids = [encode_prompt(tokenizer, p, max_prompt_length) for p in chunk]
            g = generate(policy, tokenizer, p_ids, 1, max_new_tokens, do_sample, temperature, top_p)
            mask = torch.cat([g["prompt_mask"], g["response_mask"]], 1)
            Lp = g["prompt_length"]
            logp = response_logprobs(policy, g["sequences"], mask, Lp, temperature)
            ref_logp = response_logprobs(ref, g["sequences"], mask, Lp, temperature)
            answers = decode_responses(tokenizer, g["response"], g["response_mask"])
            rewards += score_answers(rm, tokenizer, g["sequences"], mask, chunk, answers, same_vocab).tolist()
            kls += ((logp - ref_logp) * g["response_mask"]).sum(-1).tolist()
            lengths += g["response_mask"].sum(-1).tolist()
    n = max(len(rewards), 1)
    return {"eval_reward": sum(rewards) / n, "eval_kl": sum(kls) / n, "eval_answer_length": sum(lengths) / n}


def lm_eval_loss(model, tokenizer, records, max_length=256) -> float:
    """LM loss on demonstration/plain text (what PPO-ptx protects)."""
    from .sft import lm_loss

    return lm_loss(model, [ptx_example(tokenizer, r, max_length) for r in load_records(records)],
                   tokenizer.pad_token_id, device=next(model.parameters()).device)


def ptx_example(tokenizer, record, max_length, truncation=None) -> dict:
    """Demonstration {"prompt","completion"} (loss on completion) or plain text {"text"} (loss on all)."""
    if isinstance(record, str):
        record = {"text": record}
    if "completion" in record:
        return sft_example(tokenizer, record, max_length, truncation)
    ids = tokenizer(record["text"], add_special_tokens=False)["input_ids"][:max_length]
    return {"input_ids": ids, "labels": list(ids)}


def train_ppo(policy, reward_model, prompts, out_dir, config: PPOConfig | None = None, ptx_data=None,
              eval_prompts=None, reference=None, on_progress=None, should_stop=None) -> TrainResult:
    """PPO(-ptx) from the SFT model at ``policy`` against the RM at ``reward_model``; save the policy HF dir."""
    from .device import load_causal_lm, load_tokenizer, make_accelerator, make_optimizer, shard
    from .reward import load_reward_model

    config = config or PPOConfig()
    out_dir = Path(out_dir)
    seed_everything(config.seed)
    accelerator = make_accelerator(config.mixed_precision)
    device = accelerator.device
    tokenizer = load_tokenizer(policy)
    actor = load_causal_lm(policy)
    ref = load_causal_lm(reference or policy).to(device).eval().requires_grad_(False)
    rm = load_reward_model(reward_model, device).eval().requires_grad_(False)
    critic = load_reward_model(reward_model)  # value model initialised from the RM
    if len(critic.tokenizer) != len(tokenizer):
        raise ConfigError("reward_model", "value model (copy of the RM) must share the policy's tokenizer")
    same_vocab = True

    prompt_records = load_records(prompts)
    if not prompt_records:
        raise ConfigError("prompts", "no prompts")
    trunc = Truncation()
    prompt_ids = [encode_prompt(tokenizer, prompt_of(r), config.max_prompt_length, trunc) for r in prompt_records]
    schedule = epoch_schedule([0] * len(prompt_ids), config.batch_size, config.seed, epochs=1,
                              max_steps=config.iterations, bucket=False)
    ptx = [ptx_example(tokenizer, r, config.ptx_max_length) for r in load_records(ptx_data)]
    if config.ptx_coef > 0 and not ptx:
        raise ConfigError("ptx_coef", "PPO-ptx needs ptx_data (pretraining or demonstration text)")

    n_mb = math.ceil(config.batch_size / config.mini_batch_size)
    params = list(actor.parameters()) + list(critic.parameters())
    optimizer, scheduler = make_optimizer(params, config.learning_rate, config.weight_decay, 0,
                                          config.iterations * config.ppo_epochs * n_mb)
    actor, critic, optimizer, scheduler = accelerator.prepare(actor, critic, optimizer, scheduler)
    kl_ctl = AdaptiveKLController(config.kl_coef, config.target_kl if config.adaptive_kl else None, config.kl_horizon)

    def clock() -> float:
        if device.type == "cuda":  # kernels run asynchronously: wait for them before reading the clock
            torch.cuda.synchronize(device)
        return time.perf_counter()

    def rollout(step: int) -> dict:
        idx = shard(schedule[step], accelerator)
        policy_model = accelerator.unwrap_model(actor)
        t0 = clock()
        g = generate(policy_model, tokenizer, [prompt_ids[i] for i in idx], 1, config.max_new_tokens, True,
                     config.temperature, config.top_p)
        seq, rmask, Lp = g["sequences"], g["response_mask"].float(), g["prompt_length"]
        mask = torch.cat([g["prompt_mask"], g["response_mask"]], 1)
        t1 = clock()
        with torch.no_grad():
            logp = response_logprobs(policy_model, seq, mask, Lp, config.temperature)
            ref_logp = response_logprobs(ref, seq, mask, Lp, config.temperature)
            values = accelerator.unwrap_model(critic).token_values(seq, mask)[:, Lp - 1:-1] * rmask
            answers = decode_responses(tokenizer, g["response"], g["response_mask"])
            score = score_answers(rm, tokenizer, seq, mask, [prompt_of(prompt_records[i]) for i in idx], answers,
                                  same_vocab).float()
        kl = (logp - ref_logp) * rmask
        rewards = -kl_ctl.value * kl                                        # −β·(log π − log π_ref)
        last = (rmask.sum(-1).long() - 1).clamp(min=0)
        rewards[torch.arange(len(idx)), last] += score                      # + r_θ(x, y) at the last token
        advantages, returns = gae(rewards, values, rmask, config.gamma, config.lam)
        if config.whiten_advantages:
            advantages = masked_whiten(advantages, rmask) * rmask
        t2 = clock()
        return {"time_generate_s": t1 - t0, "time_score_s": t2 - t1,
                "seq": seq, "mask": mask, "rmask": rmask, "Lp": Lp, "logp": logp, "values": values,
                "advantages": advantages, "returns": returns, "score": score, "kl": kl.sum(-1),
                "non_score_reward": rewards.sum(-1) - score}

    def step_fn(step: int) -> dict:
        ro = rollout(step)
        t_update = clock()
        B = ro["seq"].size(0)
        stats = {k: [] for k in ("pg_loss", "value_loss", "ptx_loss", "clipfrac", "entropy", "approx_kl")}
        actor.train()
        critic.train()
        g = torch.Generator().manual_seed(config.seed * 7919 + step)
        for epoch in range(config.ppo_epochs):
            perm = torch.randperm(B, generator=g)
            for m in range(n_mb):
                mb = perm[m * config.mini_batch_size:(m + 1) * config.mini_batch_size].to(ro["seq"].device)
                if len(mb) == 0:
                    continue
                seq, mask, rmask, Lp = ro["seq"][mb], ro["mask"][mb], ro["rmask"][mb], ro["Lp"]
                old_logp, old_values = ro["logp"][mb], ro["values"][mb]
                adv, returns = ro["advantages"][mb], ro["returns"][mb]
                with accelerator.autocast():
                    logp, entropy = response_logprobs(actor, seq, mask, Lp, config.temperature, with_entropy=True)
                    vpred = critic(seq, mask, per_token=True)[:, Lp - 1:-1].float()
                # clipped surrogate: min(ρA, clip(ρ, 1−ε, 1+ε)A)
                ratio = torch.exp(logp - old_logp)
                pg_loss = masked_mean(torch.max(-adv * ratio,
                                                -adv * ratio.clamp(1 - config.cliprange, 1 + config.cliprange)), rmask)
                # clipped value loss
                v_clipped = old_values + (vpred - old_values).clamp(-config.cliprange_value, config.cliprange_value)
                vf_loss = 0.5 * masked_mean(torch.max((vpred - returns) ** 2, (v_clipped - returns) ** 2), rmask)
                loss = pg_loss + config.vf_coef * vf_loss
                ptx_loss = torch.zeros((), device=loss.device)
                if config.ptx_coef > 0:                                     # PPO-ptx: same gradient step
                    k = ((step * config.ppo_epochs + epoch) * n_mb + m) * config.ptx_batch_size
                    chunk = [ptx[(k + j) % len(ptx)] for j in range(config.ptx_batch_size)]
                    batch = {n: t.to(loss.device) for n, t in collate_lm(chunk, tokenizer.pad_token_id).items()}
                    with accelerator.autocast():
                        ptx_loss = actor(**batch).loss
                    loss = loss + config.ptx_coef * ptx_loss
                accelerator.backward(loss)
                accelerator.clip_grad_norm_(params, config.max_grad_norm)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                with torch.no_grad():
                    stats["pg_loss"].append(pg_loss.item())
                    stats["value_loss"].append(vf_loss.item())
                    stats["ptx_loss"].append(ptx_loss.item())
                    stats["clipfrac"].append(masked_mean(((ratio - 1).abs() > config.cliprange).float(), rmask).item())
                    stats["entropy"].append(masked_mean(entropy, rmask).item())
                    stats["approx_kl"].append(masked_mean(0.5 * (logp - old_logp) ** 2, rmask).item())
        mean_kl = ro["kl"].mean().item()
        # where an iteration's time goes: sampling answers, scoring them (policy / reference log-probs,
        # values, reward model), and the PPO epochs of updates
        timing = {"time_generate_s": ro["time_generate_s"], "time_score_s": ro["time_score_s"],
                  "time_update_s": clock() - t_update}
        metrics = {"reward": ro["score"].mean().item(), "kl": mean_kl, "kl_coef": kl_ctl.value, **timing,
                   "non_score_reward": ro["non_score_reward"].mean().item(),
                   "answer_length": ro["rmask"].sum(-1).mean().item(),
                   **{k: sum(v) / len(v) for k, v in stats.items()}}
        kl_ctl.update(mean_kl, B)
        return metrics

    steps, metrics, stopped = run_steps(
        out_dir=out_dir, total_steps=len(schedule), step_fn=step_fn,
        objects={"policy": actor, "value": critic, "optimizer": optimizer, "scheduler": scheduler, "kl_ctl": kl_ctl},
        log_every=config.log_every, save_every=config.save_every, on_progress=on_progress,
        should_stop=should_stop, desc="ppo", accelerator=accelerator)
    metrics = dict(metrics)
    metrics["prompts_truncated"] = trunc.truncated
    if stopped:
        return TrainResult(str(out_dir), metrics, steps, len(schedule), True)
    policy_model = accelerator.unwrap_model(actor)
    if eval_prompts is not None:
        metrics.update(evaluate_policy(policy_model, ref, rm, tokenizer, eval_prompts, config.max_new_tokens,
                                       config.temperature, config.top_p, config.max_prompt_length))
    if accelerator.is_main_process:
        policy_model.save_pretrained(str(out_dir))
        tokenizer.save_pretrained(str(out_dir))
        from .reward import save_reward_model
        save_reward_model(accelerator.unwrap_model(critic), out_dir / "value_model")
        append_metrics(out_dir, {"step": steps, "final": True, **metrics})
    return TrainResult(str(out_dir), metrics, steps, len(schedule), False)
