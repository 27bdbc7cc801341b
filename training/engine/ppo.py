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

Hygiene (as TRL does it): dropout is off in every model, in rollouts AND updates, so before the first
update the ratio ρ is exactly 1 and the KL to the reference (same weights, same precision) exactly 0;
rollouts sample under an explicit generation config (temperature, top-p, top-k, max_new_tokens; nothing
from the checkpoint's generation_config); an answer cut off at ``max_new_tokens`` without eos gets
``missing_eos_penalty`` subtracted from its RM score (TRL's rule; 0: off). The reward is read at the last
real answer token (eos included) of left-padded prompt + answer.

Several processes: each rolls out its share of the prompts; advantage whitening, the KL fed to the adaptive
controller and every logged statistic are all-reduced (``parallel.py``), so β is the same on every rank;
each update mini-batch is normalised by its global answer-token count. LoRA (``lora_r`` > 0): the policy
and the value model train adapters; the reference model is the policy with its adapters disabled.

Presets: ``PPOConfig.from_preset("instructgpt")`` → β 0.02, γ_ptx 27.8, ε 0.2, γ 1.0. The plain defaults are
small-model values that train the tiny test models on a CPU.
"""

from __future__ import annotations

import contextlib
import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from .checkpoint import append_metrics, run_steps, seed_everything
from .config import ConfigError, TrainResult, check_common, check_positive, check_range, from_dict
from .data import (PROMPTS, Truncation, collate_lm, encode_prompt, epoch_schedule, load_records,
                   position_ids_from_mask, prompt_of, sft_example)
from .parallel import current_lr, global_sum, shard, world
from .sampling import decode_responses, generate
from .sft import target_count, token_nll_sum


@dataclass
class PPOConfig:
    iterations: int = 20          # rollout + update rounds (one "step" each)
    batch_size: int = 16          # prompts per rollout (one answer each), split across processes
    mini_batch_size: int = 8      # rollouts per update mini-batch (all processes together)
    ppo_epochs: int = 4
    learning_rate: float = 1e-4
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    max_new_tokens: int = 24
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    missing_eos_penalty: float = 0.0  # subtracted from the score of an answer cut off without eos (0: off)
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
    lora_r: int = 0               # LoRA rank for policy and value model (0: train all weights)
    lora_alpha: float = 16.0      # LoRA scale α (the update is α/r · BA)
    lora_dropout: float = 0.0     # dropout on the LoRA input
    lora_target_modules: str = ""  # comma-separated module names (empty: peft's default for the architecture)

    def __post_init__(self):
        check_common(self)
        check_positive("top_k", self.top_k, allow_zero=True)
        check_positive("missing_eos_penalty", self.missing_eos_penalty, allow_zero=True)
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


def masked_whiten(x, mask, eps=1e-8, accelerator=None):
    """(x − mean) / std over the masked entries of ALL processes; returns (whitened, mean, std)."""
    n = global_sum(mask.sum(), accelerator).clamp(min=1)
    mean = (global_sum((x * mask).sum(), accelerator) / n).to(x)
    var = (global_sum((((x - mean) ** 2) * mask).sum(), accelerator) / n).to(x)
    return (x - mean) * torch.rsqrt(var + eps), mean.item(), var.sqrt().item()


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
                    max_prompt_length=256, seed=1234, batch_size=32, do_sample=True, top_k=0) -> dict:
    """Mean RM reward, KL(π‖π_ref) (sum over answer tokens, sampled estimate) and answer length."""
    records = load_records(prompts)
    same_vocab = len(rm.tokenizer) == len(tokenizer)
    rewards, kls, lengths = [], [], []
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        for i in range(0, len(records), batch_size):
            chunk = [prompt_of(r) for r in records[i:i + batch_size]]
            p_ids = [encode_prompt(tokenizer, p, max_prompt_length) for p in chunk]
            g = generate(policy, tokenizer, p_ids, 1, max_new_tokens, do_sample, temperature, top_p, top_k)
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


def rollout(actor, ref, critic, rm, tokenizer, prompt_ids: list, prompts: list, config: PPOConfig, kl_coef: float,
            accelerator=None, weight: float = 1.0) -> dict:
    """Sample one answer per prompt and compute everything the update needs (no gradients).

    ``actor``/``critic`` are the plain (unwrapped) models; ``weight`` 0 marks a placeholder shard whose
    rows count nowhere (``parallel.py``, fact 3).
    """
    device = next(actor.parameters()).device
    autocast = accelerator.autocast if accelerator is not None else contextlib.nullcontext
    t0 = _clock(device)
    with autocast():
        g = generate(actor, tokenizer, prompt_ids, 1, config.max_new_tokens, True, config.temperature, config.top_p,
                     config.top_k)
    seq, Lp = g["sequences"], g["prompt_length"]
    rmask = g["response_mask"].float() * weight
    mask = torch.cat([g["prompt_mask"], g["response_mask"]], 1)
    t1 = _clock(device)
    with torch.no_grad(), autocast():  # the same precision for policy, reference and values as in the update
        logp = response_logprobs(actor, seq, mask, Lp, config.temperature)
        ref_logp = response_logprobs(ref, seq, mask, Lp, config.temperature)
        values = critic.token_values(seq, mask)[:, Lp - 1:-1].float() * rmask
        answers = decode_responses(tokenizer, g["response"], g["response_mask"])
        score = score_answers(rm, tokenizer, seq, mask, prompts, answers, True).float()
    ended = ((g["response"] == tokenizer.eos_token_id) & g["response_mask"].bool()).any(-1)
    score = score - config.missing_eos_penalty * (~ended).float()           # cut off without eos
    kl = (logp - ref_logp) * rmask
    rewards = -kl_coef * kl                                                   # −β·(log π − log π_ref)
    last = (g["response_mask"].sum(-1).long() - 1).clamp(min=0)
    rewards[torch.arange(seq.size(0)), last] += score * weight               # + r_θ(x, y) at the last token
    advantages, returns = gae(rewards, values, rmask, config.gamma, config.lam)
    adv_mean = adv_std = 0.0
    if config.whiten_advantages:
        advantages, adv_mean, adv_std = masked_whiten(advantages, rmask, accelerator=accelerator)
        advantages = advantages * rmask
    return {"time_generate_s": t1 - t0, "time_score_s": _clock(device) - t1, "weight": weight,
            "seq": seq, "mask": mask, "rmask": rmask, "Lp": Lp, "logp": logp, "ref_logp": ref_logp,
            "values": values, "advantages": advantages, "returns": returns, "score": score, "ended": ended,
            "kl": kl.sum(-1), "non_score_reward": rewards.sum(-1) - score * weight,
            "advantage_mean": adv_mean, "advantage_std": adv_std}


def policy_value_losses(actor, critic, ro: dict, rows, config: PPOConfig, tokens: float, accelerator=None):
    """Σ-over-tokens clipped surrogate and value losses of ``rows``, divided by the global token count ``tokens``.

    Returns (pg_loss, vf_loss, sums) where ``sums`` are this process's token sums of ratio statistics.
    """
    autocast = accelerator.autocast if accelerator is not None else contextlib.nullcontext
    seq, mask, rmask, Lp = ro["seq"][rows], ro["mask"][rows], ro["rmask"][rows], ro["Lp"]
    old_logp, old_values = ro["logp"][rows], ro["values"][rows]
    adv, returns = ro["advantages"][rows], ro["returns"][rows]
    with autocast():
        logp, entropy = response_logprobs(actor, seq, mask, Lp, config.temperature, with_entropy=True)
        vpred = critic(seq, mask, per_token=True)[:, Lp - 1:-1].float()
    # clipped surrogate: min(ρA, clip(ρ, 1−ε, 1+ε)A)
    ratio = torch.exp(logp - old_logp)
    pg = torch.max(-adv * ratio, -adv * ratio.clamp(1 - config.cliprange, 1 + config.cliprange))
    # clipped value loss
    v_clipped = old_values + (vpred - old_values).clamp(-config.cliprange_value, config.cliprange_value)
    vf = 0.5 * torch.max((vpred - returns) ** 2, (v_clipped - returns) ** 2)
    scale = 1.0 / max(float(tokens), 1.0)
    with torch.no_grad():
        sums = {"clipfrac": (((ratio - 1).abs() > config.cliprange).float() * rmask).sum().item(),
                "entropy": (entropy * rmask).sum().item(),
                "approx_kl": (0.5 * (logp - old_logp) ** 2 * rmask).sum().item(),
                "ratio": (ratio * rmask).sum().item()}
    return (pg * rmask).sum() * scale, (vf * rmask).sum() * scale, sums, ratio


def _clock(device) -> float:
    if device.type == "cuda":  # kernels run asynchronously: wait for them before reading the clock
        torch.cuda.synchronize(device)
    return time.perf_counter()


def ppo_models(policy, reward_model, config: PPOConfig, reference=None, device="cpu"):
    """(tokenizer, actor, ref, rm, critic), dropout off in all; under LoRA ``ref`` is None (the caller wraps the
    prepared actor in ``WithoutAdapters``: the policy with its adapters disabled)."""
    from .device import apply_lora, disable_dropout, load_causal_lm, load_tokenizer
    from .reward import load_reward_model

    if config.lora_r and reference is not None:
        raise ConfigError("reference", "with LoRA the reference model is the policy with its adapters disabled")
    tokenizer = load_tokenizer(policy)
    actor = apply_lora(disable_dropout(load_causal_lm(policy)), config).eval()
    ref = None
    if not config.lora_r:  # same precision as the policy (fp32 weights; both under the same autocast)
        ref = disable_dropout(load_causal_lm(reference or policy)).to(device).eval().requires_grad_(False)
    rm = disable_dropout(load_reward_model(reward_model, device)).eval().requires_grad_(False)
    critic = disable_dropout(load_reward_model(reward_model))  # value model initialised from the RM
    critic.backbone = apply_lora(critic.backbone, config)
    critic.eval()
    if len(critic.tokenizer) != len(tokenizer):
        raise ConfigError("reward_model", "value model (copy of the RM) must share the policy's tokenizer")
    return tokenizer, actor, ref, rm, critic


def train_ppo(policy, reward_model, prompts, out_dir, config: PPOConfig | None = None, ptx_data=None,
              eval_prompts=None, reference=None, on_progress=None, should_stop=None) -> TrainResult:
    """PPO(-ptx) from the SFT model at ``policy`` against the RM at ``reward_model``; save the policy HF dir."""
    from .device import WithoutAdapters, make_accelerator, make_optimizer, save_causal_lm
    from .reward import save_reward_model

    config = config or PPOConfig()
    out_dir = Path(out_dir)
    seed_everything(config.seed)
    accelerator = make_accelerator(config.mixed_precision)
    device = accelerator.device
    tokenizer, actor, ref, rm, critic = ppo_models(policy, reward_model, config, reference, device)

    prompt_records = load_records(prompts, PROMPTS)
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
    params = [p for p in list(actor.parameters()) + list(critic.parameters()) if p.requires_grad]
    optimizer, scheduler = make_optimizer(params, config.learning_rate, config.weight_decay, 0,
                                          config.iterations * config.ppo_epochs * n_mb)
    actor, critic, optimizer, scheduler = accelerator.prepare(actor, critic, optimizer, scheduler)
    if ref is None:
        ref = WithoutAdapters(accelerator.unwrap_model(actor))
    kl_ctl = AdaptiveKLController(config.kl_coef, config.target_kl if config.adaptive_kl else None, config.kl_horizon)

    def step_fn(step: int) -> dict:
        idx, weight = shard(schedule[step], accelerator)
        ro = rollout(accelerator.unwrap_model(actor), ref, accelerator.unwrap_model(critic), rm, tokenizer,
                     [prompt_ids[i] for i in idx], [prompt_of(prompt_records[i]) for i in idx], config,
                     kl_ctl.value, accelerator, weight)
        t_update = _clock(device)
        B = ro["seq"].size(0)
        sums = {k: 0.0 for k in ("pg_loss", "value_loss", "ptx_loss", "clipfrac", "entropy", "approx_kl", "ratio")}
        updates = 0
        g = torch.Generator().manual_seed(config.seed * 7919 + step)
        for epoch in range(config.ppo_epochs):
            perm = torch.randperm(B, generator=g)
            for m, rows in enumerate(torch.tensor_split(perm, n_mb)):  # the same number on every process
                mb_weight = 1.0 if len(rows) else 0.0
                rows = (rows if len(rows) else perm[:1]).to(ro["seq"].device)
                tokens = global_sum(ro["rmask"][rows].sum() * mb_weight, accelerator).item()
                pg_loss, vf_loss, stat, _ = policy_value_losses(actor, critic, ro, rows, config, tokens, accelerator)
                loss = (pg_loss + config.vf_coef * vf_loss) * mb_weight
                ptx_nll = torch.zeros((), device=loss.device)
                if config.ptx_coef > 0:                                     # PPO-ptx: same gradient step
                    k = ((step * config.ppo_epochs + epoch) * n_mb + m) * config.ptx_batch_size
                    chunk = [ptx[(k + j) % len(ptx)] for j in range(config.ptx_batch_size)]
                    local, w = shard(list(range(len(chunk))), accelerator)
                    ptx_tokens = sum(target_count(e) for e in chunk)
                    batch = {n: t.to(loss.device) for n, t in
                             collate_lm([chunk[j] for j in local], tokenizer.pad_token_id).items()}
                    with accelerator.autocast():
                        ptx_nll = token_nll_sum(actor, batch) * w / max(ptx_tokens, 1)
                    loss = loss + config.ptx_coef * ptx_nll
                accelerator.backward(loss * world(accelerator))  # already ÷ global tokens; DDP averages over N
                accelerator.clip_grad_norm_(params, config.max_grad_norm)
                lr = current_lr(optimizer)
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
                updates += 1
                sums["pg_loss"] += pg_loss.item() * mb_weight
                sums["value_loss"] += vf_loss.item() * mb_weight
                sums["ptx_loss"] += ptx_nll.item()
                for key, value in stat.items():
                    sums[key] += value * mb_weight
        # every statistic over all processes: the same numbers (and the same β) everywhere
        names = list(sums)
        local_stats = [sums[k] for k in names] + [ro["rmask"].sum().item(), (ro["score"] * weight).sum().item(),
                                                   ro["kl"].sum().item(), ro["non_score_reward"].sum().item(),
                                                   ro["rmask"].sum().item(), ((~ro["ended"]).float() * weight).sum().item()]
        total = global_sum(local_stats, accelerator).tolist()
        stats, (tok, score_sum, kl_sum, nsr_sum, len_sum, cut_sum) = dict(zip(names, total)), total[len(names):]
        n_prompts = len(schedule[step])
        per_update = {k: stats[k] / updates for k in ("pg_loss", "value_loss", "ptx_loss")}
        per_token = {k: stats[k] / max(tok * config.ppo_epochs, 1) for k in ("clipfrac", "entropy", "approx_kl", "ratio")}
        mean_kl = kl_sum / n_prompts
        metrics = {"reward": score_sum / n_prompts, "kl": mean_kl, "kl_coef": kl_ctl.value, "lr": lr,
                   "non_score_reward": nsr_sum / n_prompts, "answer_length": len_sum / n_prompts,
                   "answers_without_eos": cut_sum / n_prompts,
                   "advantage_mean": ro["advantage_mean"], "advantage_std": ro["advantage_std"],
                   # where an iteration's time goes: sampling answers, scoring them (policy / reference
                   # log-probs, values, reward model), and the PPO epochs of updates
                   "time_generate_s": ro["time_generate_s"], "time_score_s": ro["time_score_s"],
                   "time_update_s": _clock(device) - t_update, **per_update, **per_token}
        kl_ctl.update(mean_kl, n_prompts)
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
                                       config.temperature, config.top_p, config.max_prompt_length,
                                       top_k=config.top_k))
    if accelerator.is_main_process:
        save_causal_lm(policy_model, tokenizer, out_dir)
        save_reward_model(accelerator.unwrap_model(critic), out_dir / "value_model")
        append_metrics(out_dir, {"step": steps, "final": True, **metrics})
    return TrainResult(str(out_dir), metrics, steps, len(schedule), False)
