"""Preference optimisation straight from K-wise rankings: DPO (pairwise) and its Plackett–Luce form (listwise).

Implicit reward of answer y to prompt x (Rafailov et al. 2023), with log π(y|x) = Σ_t∈answer log π(y_t|x, y_<t):

    h(x, y) = β · (log π(y|x) − log π_ref(y|x))

``loss="pairwise"`` (DPO, §4): for a ranking with P non-tied pairs (w over l),

    loss_ranking = −1/P · Σ_(w,l) log σ( h(x, y_w) − h(x, y_l) )

averaged over the ranking's pairs exactly as the K-wise reward model averages its pairs (``reward.kwise_loss``
with h in place of r_θ); the batch loss is the mean over rankings. Ties give no pair. On a K=2 ranking this is
TRL's ``DPOTrainer`` sigmoid loss of the pair.

``loss="listwise"`` (DPO paper, App. A.3, Plackett–Luce): with the answers in rank order y_1 ≻ … ≻ y_K,

    loss_ranking = −Σ_k log( exp(h_k) / Σ_{j ≥ k} exp(h_j) )

Ties: a tie group is ONE stage whose members are exchangeable: the ranking 1,2,2,4 says "y_1 first, then y_2
and y_3 in an unknown order, then y_4". Its likelihood is the Plackett–Luce probability of that event, i.e. the
SUM of the PL probabilities of every ordering consistent with the ranking (orderings inside a tie group
enumerated; equivalently, up to the constant Π 1/m_g!, their average), and

    loss_ranking = −log Σ_{σ consistent with the ranks} Π_k exp(h_σ(k)) / Σ_{j ≥ k} exp(h_σ(j)).

By PL's stage independence this factorises over the tie groups: each group G chosen (in any order) from the
answers not yet placed, S, has probability f_S(G), computed by a dynamic programme over subsets A ⊆ G
(f(∅)=1, f(A) = Σ_{i∈A} f(A∖i) · exp(h_i) / Σ_{j ∈ S∖(A∖i)} exp(h_j)), in log space; 2^|G| terms, so
exact for the tie groups rankings have. Without ties it is the formula above. A ranking whose answers are
all tied carries no preference and is left out of the batch mean, like a ranking without pairs.

Each answer of a ranking goes through the policy ONCE (K sequences per ranking, not 2·C(K,2)): all answers of
a batch are one padded forward and pairs/stages are gathered by index. The reference log-probs are computed
once per answer before training (the reference is then freed) and cached for all epochs, in the output
folder too, so a resumed run does not recompute them. ``prefix_reuse`` encodes the shared prompt once per
ranking (KV cache expanded to K rows), as the reward model does.

Metrics: loss; implicit-reward accuracy (pairs with h_w > h_l) and margin (mean h_w − h_l); ``logratio``, the
mean log π(y|x) − log π_ref(y|x) on the ranked answers; answer length (tokens). At the end, on held-out
rankings: the same, plus the KL to the reference measured on answers SAMPLED from the policy
(Σ_t log π − log π_ref, as PPO reports it) and their length.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from .checkpoint import append_metrics, run_steps, seed_everything
from .config import ConfigError, TrainResult, check_choice, check_common, check_positive
from .data import (RANKINGS, Truncation, encode_prompt, encode_prompt_answer, epoch_schedule, pad, to_ranking,
                   train_and_held_out)
from .parallel import current_lr, global_sum, scaled, shard
from .reward import collate_rankings

LOSSES = ("pairwise", "listwise")
REFERENCE_CACHE = "reference_logps.pt"


@dataclass
class DPOConfig:
    loss: str = "pairwise"        # "pairwise" (DPO) or "listwise" (Plackett–Luce)
    beta: float = 0.1             # β: strength of the pull towards the reference (DPO paper: 0.1)
    epochs: int = 1
    max_steps: int = 0            # 0: run `epochs` epochs
    batch_size: int = 8           # rankings per batch (each brings its K answers)
    learning_rate: float = 5e-6
    weight_decay: float = 0.0
    warmup_steps: int = 0
    max_grad_norm: float = 1.0
    max_length: int = 512
    eval_fraction: float = 0.05
    prefix_reuse: bool = False    # encode the shared prompt once per ranking (KV cache)
    eval_max_new_tokens: int = 24  # answers sampled on held-out prompts to measure the KL (0: no sampling)
    seed: int = 0
    log_every: int = 10
    save_every: int = 100
    mixed_precision: str = "no"
    lora_r: int = 0               # LoRA rank (0: train all weights)
    lora_alpha: float = 16.0      # LoRA scale α (the update is α/r · BA)
    lora_dropout: float = 0.0     # dropout on the LoRA input
    lora_target_modules: str = ""  # comma-separated module names (empty: peft's default for the architecture)

    def __post_init__(self):
        check_common(self)
        check_choice("loss", self.loss, LOSSES)
        check_positive("beta", self.beta)
        check_positive("eval_max_new_tokens", self.eval_max_new_tokens, allow_zero=True)


# ---- encoding ------------------------------------------------------------------------------------


def encode_ranking(tokenizer, ranking, max_length: int, truncation: Truncation | None = None) -> dict:
    """The reward model's ranking item plus each answer's prompt length (log-probs count answer tokens only)."""
    encoded = [encode_prompt_answer(tokenizer, ranking.prompt, r, max_length, truncation) for r in ranking.responses]
    return {"seqs": [s for s, _ in encoded], "n_prompt": [n for _, n in encoded], "pairs": ranking.pairs(),
            "ties": ranking.ties(), "ranks": list(ranking.ranks), "prompt": ranking.prompt,
            "responses": ranking.responses}


def answer_mask(items: list[dict], width: int) -> torch.Tensor:
    """1 at the answer tokens of each flattened sequence (after its prompt, before its padding)."""
    rows = []
    for item in items:
        for seq, n_prompt in zip(item["seqs"], item["n_prompt"]):
            rows.append([0] * n_prompt + [1] * (len(seq) - n_prompt) + [0] * (width - len(seq)))
    return torch.tensor(rows, dtype=torch.long)


# ---- log-probabilities ---------------------------------------------------------------------------


def token_logprobs(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """log softmax(logits)[target] without materialising the whole log-softmax."""
    logits = logits.float()
    return logits.gather(-1, targets[..., None]).squeeze(-1) - torch.logsumexp(logits, -1)


def sequence_logprobs(model, input_ids, attention_mask, answer_mask) -> torch.Tensor:
    """log π(y|x) = Σ over answer tokens of log π(y_t | x, y_<t), one value per row."""
    logits = model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).logits[:, :-1]
    logp = token_logprobs(logits, input_ids[:, 1:])
    return (logp * answer_mask[:, 1:].to(logp.dtype)).sum(-1)


def prefix_reuse_logprobs(model, tokenizer, items: list[dict], device) -> torch.Tensor:
    """log π(y|x) with the prompt encoded once per ranking; the K answers continue from its KV cache."""
    from transformers import DynamicCache

    out = []
    for item in items:
        p_ids = item["seqs"][0][:item["n_prompt"][0]]
        answers = [s[n:] for s, n in zip(item["seqs"], item["n_prompt"])]
        same_prompt = all(s[:n] == p_ids for s, n in zip(item["seqs"], item["n_prompt"]))
        if not same_prompt or not p_ids or any(not a for a in answers):  # truncation: encode the full rows
            x = pad(item["seqs"], tokenizer.pad_token_id).to(device)
            m = pad([[1] * len(s) for s in item["seqs"]], 0).to(device)
            out.append(sequence_logprobs(model, x, m, answer_mask([item], x.size(1)).to(device)))
            continue
        K, Lp = len(answers), len(p_ids)
        prefix = torch.tensor([p_ids], device=device)
        first = model(input_ids=prefix, attention_mask=torch.ones_like(prefix), use_cache=True)
        cache = first.past_key_values
        if isinstance(cache, DynamicCache):
            cache.batch_repeat_interleave(K)
        else:
            cache = tuple((k.expand(K, -1, -1, -1), v.expand(K, -1, -1, -1)) for k, v in cache)
        a = pad(answers, tokenizer.pad_token_id).to(device)
        am = pad([[1] * len(s) for s in answers], 0).to(device)
        mask = torch.cat([torch.ones(K, Lp, dtype=am.dtype, device=device), am], 1)
        pos = torch.arange(Lp, Lp + a.size(1), device=device).expand(K, -1)
        logits = model(input_ids=a, attention_mask=mask, position_ids=pos, past_key_values=cache,
                       use_cache=False).logits
        # the prompt's last position predicts each answer's first token; answer position t predicts t+1
        logits = torch.cat([first.logits[:, -1:].expand(K, -1, -1), logits[:, :-1]], 1)
        out.append((token_logprobs(logits, a) * am.to(torch.float32)).sum(-1))
    return torch.cat(out)


def policy_logprobs(model, tokenizer, items: list[dict], batch: dict, device, prefix_reuse: bool = False):
    """log π(y|x) for every answer of ``items``, flattened in order (one forward of all K·B answers)."""
    if prefix_reuse:
        return prefix_reuse_logprobs(model, tokenizer, items, device)
    ids = batch["input_ids"].to(device)
    return sequence_logprobs(model, ids, batch["attention_mask"].to(device),
                             answer_mask(items, ids.size(1)).to(device))


class AnswerLogProbs(torch.nn.Module):
    """The policy as one module returning log π(y|x), so that under DDP every forward, prefix reuse included,
    goes through the wrapper and its gradients are synchronised."""

    def __init__(self, lm, tokenizer):
        super().__init__()
        self.lm, self.tokenizer = lm, tokenizer

    def forward(self, items: list[dict], batch: dict, prefix_reuse: bool = False) -> torch.Tensor:
        device = next(self.lm.parameters()).device
        return policy_logprobs(self.lm, self.tokenizer, items, batch, device, prefix_reuse)


@torch.no_grad()
def reference_logprobs(model, tokenizer, items: list[dict], batch_size: int, device) -> list[torch.Tensor]:
    """log π_ref(y|x) of every answer, once (a tensor of K per ranking, on the CPU)."""
    model.eval()
    out = []
    for i in range(0, len(items), batch_size):
        chunk = items[i:i + batch_size]
        batch = collate_rankings(chunk, tokenizer.pad_token_id)
        logps = policy_logprobs(model, tokenizer, chunk, batch, device).float().cpu()
        sizes = [len(item["seqs"]) for item in chunk]
        out += list(torch.split(logps, sizes))
    return out


# ---- losses --------------------------------------------------------------------------------------


def pairwise_losses(h, batch) -> torch.Tensor:
    """DPO per ranking with pairs: −1/P Σ_(w,l) log σ(h_w − h_l)  (the K-wise RM loss on implicit rewards)."""
    dev = h.device
    w, l, ranking = batch["w"].to(dev), batch["l"].to(dev), batch["pair_ranking"].to(dev)
    pair_loss = -F.logsigmoid(h[w] - h[l])
    total = torch.zeros(batch["n_rankings"], device=dev, dtype=h.dtype).index_add(0, ranking, pair_loss)
    P = torch.zeros(batch["n_rankings"], device=dev, dtype=h.dtype).index_add(0, ranking, torch.ones_like(pair_loss))
    return total[P > 0] / P[P > 0]


def stages(ranks: list[int]) -> list[list[int]]:
    """Answer indices grouped by rank, best stage first (a tie group is one stage)."""
    return [[i for i, r in enumerate(ranks) if r == value] for value in sorted(set(ranks))]


def group_first_logprob(h_remaining: torch.Tensor, m: int) -> torch.Tensor:
    """log P(the first ``m`` entries are placed, in any order, before the others) under Plackett–Luce.

    Dynamic programme over subsets A of the group: log f(A) = logsumexp_{i∈A}[log f(A∖i) + h_i −
    logsumexp(h over the remaining set minus A∖i)]; f(∅) = 1.
    """
    n = h_remaining.numel()
    if m == n:  # the last stage: placing everything left has probability 1
        return h_remaining.sum() * 0.0
    full = (1 << m) - 1
    log_f, log_denominator = {0: h_remaining.new_zeros(())}, {}
    for subset in range(1, full + 1):
        terms = []
        for i in range(m):
            if not subset >> i & 1:
                continue
            before = subset & ~(1 << i)
            if before not in log_denominator:
                keep = [j for j in range(n) if not (j < m and before >> j & 1)]
                log_denominator[before] = torch.logsumexp(h_remaining[keep], 0)
            terms.append(log_f[before] + h_remaining[i] - log_denominator[before])
        log_f[subset] = torch.logsumexp(torch.stack(terms), 0)
    return log_f[full]


def ranking_listwise_loss(h: torch.Tensor, ranks: list[int]) -> torch.Tensor:
    """−log P_PL(ranking) for one ranking's implicit rewards ``h`` (K,), ties as exchangeable stages."""
    groups = stages(ranks)
    total = h.sum() * 0.0
    remaining = [i for g in groups for i in g]  # rank order
    for group in groups[:-1]:
        total = total - group_first_logprob(h[remaining], len(group))
        remaining = remaining[len(group):]
    return total


def listwise_losses(h, items: list[dict]) -> torch.Tensor:
    """The Plackett–Luce loss of each ranking with more than one stage."""
    losses, offset = [], 0
    for item in items:
        K = len(item["seqs"])
        if has_preference(item):
            losses.append(ranking_listwise_loss(h[offset:offset + K], item["ranks"]))
        offset += K
    return torch.stack(losses) if losses else h[:0]


def has_preference(item: dict) -> bool:
    """A ranking takes part in the loss when not all its answers are tied (it has a pair, and two stages)."""
    return len(set(item["ranks"])) > 1


def ranking_losses(loss: str, h, batch, items) -> torch.Tensor:
    return pairwise_losses(h, batch) if loss == "pairwise" else listwise_losses(h, items)


def preference_loss(loss: str, h, batch, items) -> torch.Tensor:
    """The batch loss: mean over the rankings that carry a preference."""
    losses = ranking_losses(loss, h, batch, items)
    return losses.mean() if losses.numel() else h.sum() * 0.0


def pairwise_loss(h, batch) -> torch.Tensor:
    return preference_loss("pairwise", h, batch, None)


def listwise_loss(h, items) -> torch.Tensor:
    return preference_loss("listwise", h, None, items)


def reward_stats(h, batch) -> dict:
    """Implicit-reward accuracy and margin over the non-tied pairs."""
    if not len(batch["w"]):
        return {"reward_accuracy": 0.0, "reward_margin": 0.0, "pairs": 0}
    margin = h[batch["w"].to(h.device)] - h[batch["l"].to(h.device)]
    return {"reward_accuracy": (margin > 0).float().mean().item(), "reward_margin": margin.mean().item(),
            "pairs": margin.numel()}


# ---- evaluation ----------------------------------------------------------------------------------


@torch.no_grad()
def evaluate_rankings(model, tokenizer, items: list[dict], config: DPOConfig, device, batch_size: int = 8) -> dict:
    """Held-out loss, implicit-reward accuracy and margin (``items`` carry their ``ref_logps``)."""
    model.eval()
    loss_sum = correct = margin_sum = pairs = rankings = 0.0
    for i in range(0, len(items), batch_size):
        chunk = items[i:i + batch_size]
        batch = collate_rankings(chunk, tokenizer.pad_token_id)
        logps = policy_logprobs(model, tokenizer, chunk, batch, device).float()
        h = config.beta * (logps - torch.cat([item["ref_logps"] for item in chunk]).to(logps.device))
        losses = ranking_losses(config.loss, h, batch, chunk)
        loss_sum, rankings = loss_sum + losses.sum().item(), rankings + losses.numel()
        stats = reward_stats(h, batch)
        correct += stats["reward_accuracy"] * stats["pairs"]
        margin_sum += stats["reward_margin"] * stats["pairs"]
        pairs += stats["pairs"]
    return {"eval_loss": loss_sum / max(rankings, 1), "eval_reward_accuracy": correct / max(pairs, 1),
            "eval_reward_margin": margin_sum / max(pairs, 1), "eval_pairs": int(pairs)}


@torch.no_grad()
def sampled_kl(policy, reference, tokenizer, prompts: list, max_new_tokens: int, max_prompt_length: int,
               seed: int = 1234, batch_size: int = 16) -> dict:
    """KL(π‖π_ref) per answer on answers sampled from π (Σ_t log π − log π_ref) and their length."""
    from .ppo import response_logprobs
    from .sampling import generate

    kls, lengths = [], []
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        for i in range(0, len(prompts), batch_size):
            p_ids = [encode_prompt(tokenizer, p, max_prompt_length) for p in prompts[i:i + batch_size]]
            g = generate(policy, tokenizer, p_ids, 1, max_new_tokens, True)
            mask = torch.cat([g["prompt_mask"], g["response_mask"]], 1)
            logp = response_logprobs(policy, g["sequences"], mask, g["prompt_length"])
            ref_logp = response_logprobs(reference, g["sequences"], mask, g["prompt_length"])
            kls += ((logp - ref_logp) * g["response_mask"]).sum(-1).tolist()
            lengths += g["response_mask"].sum(-1).tolist()
    n = max(len(kls), 1)
    return {"eval_kl": sum(kls) / n, "eval_answer_length": sum(lengths) / n}


# ---- the reference cache -------------------------------------------------------------------------


def _fingerprint(items: list[dict], reference) -> str:
    h = hashlib.sha1(str(reference).encode())
    for item in items:
        h.update(json.dumps(item["seqs"]).encode())
    return h.hexdigest()


def cached_reference_logprobs(reference, tokenizer, items: list[dict], out_dir: Path, batch_size: int,
                              device, main_process: bool = True) -> list[torch.Tensor]:
    """log π_ref of every answer: read from ``out_dir`` when this run computed them before, else computed once."""
    from .device import load_causal_lm

    path = out_dir / REFERENCE_CACHE
    key = _fingerprint(items, reference)
    if path.exists():
        saved = torch.load(path, map_location="cpu", weights_only=True)
        if saved.get("key") == key:
            return saved["logps"]
    ref = load_causal_lm(reference).to(device).requires_grad_(False)
    logps = reference_logprobs(ref, tokenizer, items, batch_size, device)
    del ref  # the reference is not needed during training: its memory goes back
    if main_process:
        out_dir.mkdir(parents=True, exist_ok=True)
        torch.save({"key": key, "logps": logps}, path.with_suffix(".tmp"))
        path.with_suffix(".tmp").replace(path)  # complete or absent, never half-written
    return logps


# ---- training ------------------------------------------------------------------------------------


def train_dpo(model, data, out_dir, config: DPOConfig | None = None, eval_data=None, reference=None,
              on_progress=None, should_stop=None) -> TrainResult:
    """DPO / listwise preference optimisation of the causal LM at ``model`` on rankings or pairs.

    ``reference`` (default: ``model``) is π_ref. Saves the policy as an HF directory at ``out_dir``.
    Several processes split each global batch of rankings and divide by its count (``parallel.py``).
    """
    from .device import (apply_lora, context_length, disable_dropout, load_causal_lm, load_tokenizer,
                         make_accelerator, make_optimizer, save_causal_lm)

    config = config or DPOConfig()
    out_dir = Path(out_dir)
    reference = reference or model
    seed_everything(config.seed)
    accelerator = make_accelerator(config.mixed_precision)
    tokenizer = load_tokenizer(model)
    # no dropout: log π in the update is the same function as log π_ref before training (as TRL does)
    policy = apply_lora(disable_dropout(load_causal_lm(model)), config)
    max_length = min(config.max_length, context_length(policy.config))

    train_records, eval_records = train_and_held_out(data, eval_data, RANKINGS, config.eval_fraction, config.seed)
    trunc = Truncation()
    train = [encode_ranking(tokenizer, to_ranking(r), max_length, trunc) for r in train_records]
    held = [encode_ranking(tokenizer, to_ranking(r), max_length, trunc) for r in eval_records]
    if not any(has_preference(item) for item in train):
        raise ConfigError("data", "no ranking with a preference (every answer tied, or no rankings)")

    ref_logps = cached_reference_logprobs(reference, tokenizer, train + held, out_dir, config.batch_size,
                                          accelerator.device, accelerator.is_main_process)
    for item, logps in zip(train + held, ref_logps):
        item["ref_logps"] = logps

    schedule = epoch_schedule([sum(map(len, t["seqs"])) for t in train], config.batch_size, config.seed,
                              config.epochs, config.max_steps)
    optimizer, scheduler = make_optimizer(policy.parameters(), config.learning_rate, config.weight_decay,
                                          config.warmup_steps, len(schedule))
    scorer, optimizer, scheduler = accelerator.prepare(AnswerLogProbs(policy, tokenizer), optimizer, scheduler)

    def step_fn(step: int) -> dict:
        scorer.train()
        units = sum(has_preference(train[i]) for i in schedule[step])  # rankings of the GLOBAL batch
        local, weight = shard(schedule[step], accelerator)
        items = [train[i] for i in local]
        batch = collate_rankings(items, tokenizer.pad_token_id)
        with accelerator.autocast():
            logps = scorer(items, batch, config.prefix_reuse)
        logratio = logps.float() - torch.cat([item["ref_logps"] for item in items]).to(logps.device)
        h = config.beta * logratio                                     # implicit reward β(log π − log π_ref)
        losses = ranking_losses(config.loss, h, batch, items)
        local_sum = (losses.sum() if losses.numel() else h.sum() * 0.0) * weight
        accelerator.backward(scaled(local_sum, units, accelerator))
        accelerator.clip_grad_norm_(scorer.parameters(), config.max_grad_norm)
        lr = current_lr(optimizer)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        with torch.no_grad():
            margin = h[batch["w"].to(h.device)] - h[batch["l"].to(h.device)]
            length = sum(len(s) - n for item in items for s, n in zip(item["seqs"], item["n_prompt"]))
            s = global_sum([local_sum.item(), weight * (margin > 0).sum().item(), weight * margin.sum().item(),
                            weight * margin.numel(), weight * logratio.sum().item(), weight * logratio.numel(),
                            weight * length], accelerator).tolist()
        pairs, answers = max(s[3], 1), max(s[5], 1)
        return {"loss": s[0] / max(units, 1), "reward_accuracy": s[1] / pairs, "reward_margin": s[2] / pairs,
                "logratio": s[4] / answers, "answer_length": s[6] / answers, "lr": lr}

    steps, metrics, stopped = run_steps(
        out_dir=out_dir, total_steps=len(schedule), step_fn=step_fn,
        objects={"model": scorer, "optimizer": optimizer, "scheduler": scheduler},
        log_every=config.log_every, save_every=config.save_every, on_progress=on_progress,
        should_stop=should_stop, desc=f"dpo-{config.loss}", accelerator=accelerator)
    metrics = dict(metrics)
    metrics.update({f"truncation_{k}": v for k, v in trunc.as_dict().items()})
    if stopped:
        return TrainResult(str(out_dir), metrics, steps, len(schedule), True)
    policy = accelerator.unwrap_model(scorer).lm
    if held:
        metrics.update(evaluate_rankings(policy, tokenizer, held, config, accelerator.device))
        if config.eval_max_new_tokens:
            ref = load_causal_lm(reference).to(accelerator.device).eval()
            prompts = list({json.dumps(item["prompt"]): item["prompt"] for item in held}.values())
            metrics.update(sampled_kl(policy, ref, tokenizer, prompts, config.eval_max_new_tokens, max_length))
            del ref
    if accelerator.is_main_process:
        save_causal_lm(policy, tokenizer, out_dir)
        append_metrics(out_dir, {"step": steps, "final": True, **metrics})
    return TrainResult(str(out_dir), metrics, steps, len(schedule), False)


__all__ = ["DPOConfig", "train_dpo", "pairwise_loss", "listwise_loss", "ranking_listwise_loss", "policy_logprobs",
           "reference_logprobs", "encode_ranking", "sequence_logprobs", "stages", "sampled_kl"]
