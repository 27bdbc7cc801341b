"""K-wise reward model (InstructGPT).

r_θ(x, y) = head(h_last), h_last = the backbone's hidden state at the LAST REAL token of (x, y), found
from the attention mask (never by searching for the pad id: pad may equal eos).

For a ranking of K answers with P non-tied pairs (P = C(K,2) without ties):

    loss_ranking = −1/P · Σ_(w,l) log σ( r_θ(x, y_w) − r_θ(x, y_l) )

and the batch loss is the mean over rankings, or with per-ranking weights (a line's optional ``weight``:
labeler weighting from gold, labeling.gold) Σ_r w_r·loss_r / Σ_r w_r, so a ranking weighted 0
contributes nothing and equal weights give the plain mean. With ``tie_weight`` > 0 (off by default), each tied pair adds
tie_weight · ½[−log σ(r_i − r_j) − log σ(r_j − r_i)] to its ranking (and tie_weight to P): the Bradley–Terry
cross-entropy against the label "each wins half the time", minimal when the two rewards are equal, so
ties pull their rewards together instead of being thrown away.

All K answers of a ranking are one batch element: every
answer goes through the model ONCE (K sequences, not 2·C(K,2)); rankings of different K are flattened
into one padded forward and the pairs are gathered by index. Ties give no pair (InstructGPT, App. C.2).
A pair file {"prompt","chosen","rejected"} is a ranking with K=2.

Optional ``prefix_reuse``: the shared prompt is encoded once (KV cache) and the K answers continue from
it with the cache expanded to K rows; same rewards, fewer prompt tokens encoded. It runs inside
``RewardModel.forward`` (``rm(prefix_items=...)``) so that under DDP it goes through the wrapped model and
its gradients are synchronised like any other forward.

Several processes: each takes its share of a batch's rankings and divides by the number of scored
rankings in the GLOBAL batch (``parallel.py``), so N processes take the same step as one.
``lora_r`` > 0 trains LoRA adapters on the backbone (the head is trained in full) and saves the merged model.

Saved layout (``save_reward_model``): the backbone as an HF ``save_pretrained`` directory (AutoModel
loads it) + the tokenizer + ``reward_head.safetensors`` (weight, bias) + ``reward_config.json``.
``load_reward_model(path)`` returns a ``RewardModel`` with ``.score(texts)``.
Normalisation (optional): the head bias is shifted so labeler demonstrations average reward 0.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .checkpoint import append_metrics, run_steps, seed_everything
from .config import TrainResult, check_common, check_positive
from .data import (DEMONSTRATIONS, RANKINGS, Truncation, encode_prompt, encode_prompt_answer, epoch_schedule,
                   load_records, normalise_answer, pad, position_ids_from_mask, prompt_of, render_prompt, to_ranking,
                   train_and_held_out)
from .parallel import current_lr, global_sum, scaled, shard


@dataclass
class RMConfig:
    epochs: int = 1               # InstructGPT: one epoch (more overfits)
    max_steps: int = 0            # 0: run `epochs` epochs
    batch_size: int = 8           # rankings per optimizer step (each brings its K answers), split across processes
    learning_rate: float = 5e-5
    weight_decay: float = 0.0
    warmup_steps: int = 0
    max_grad_norm: float = 1.0
    max_length: int = 512
    eval_fraction: float = 0.05
    normalize: bool = True        # shift the bias so demonstrations average 0 (needs demonstrations)
    prefix_reuse: bool = False    # encode the shared prompt once per ranking (KV cache)
    tie_weight: float = 0.0       # 0: ties give no pair (InstructGPT); >0: BT "half-win" term per tie
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
        check_positive("tie_weight", self.tie_weight, allow_zero=True)


HEAD_FILE, CONFIG_FILE = "reward_head.safetensors", "reward_config.json"


def last_token_index(attention_mask: torch.Tensor) -> torch.Tensor:
    """Index of the last position whose mask is 1 (works for left or right padding, pad == eos)."""
    positions = torch.arange(attention_mask.size(-1), device=attention_mask.device)
    return (attention_mask.long() * positions).argmax(-1)


class RewardModel(nn.Module):
    """Transformer backbone + linear scalar head."""

    def __init__(self, backbone, tokenizer=None):
        super().__init__()
        self.backbone = backbone
        hidden = backbone.config.hidden_size
        self.head = nn.Linear(hidden, 1)
        nn.init.normal_(self.head.weight, std=1.0 / (hidden + 1) ** 0.5)
        nn.init.zeros_(self.head.bias)
        self.tokenizer = tokenizer
        from .device import context_length
        self.max_length = context_length(backbone.config)  # never encode past the position embeddings

    @property
    def config(self):
        return self.backbone.config

    def token_values(self, input_ids, attention_mask, position_ids=None, past_key_values=None):
        """Scalar per position, shape (B, T) (PPO's value model reads this)."""
        if position_ids is None and past_key_values is None:
            position_ids = position_ids_from_mask(attention_mask)
        out = self.backbone(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids,
                            past_key_values=past_key_values, use_cache=False)
        return self.head(out.last_hidden_state).squeeze(-1).float()

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, per_token: bool = False,
                prefix_items=None):
        """Reward per sequence, read at the last real token (``per_token``: the value at every position;
        ``prefix_items``: encoded rankings scored with prefix reuse)."""
        if prefix_items is not None:
            return prefix_reuse_rewards(self, self.tokenizer, prefix_items, self.head.weight.device)
        values = self.token_values(input_ids, attention_mask, position_ids)
        if per_token:
            return values
        return values.gather(1, last_token_index(attention_mask)[:, None]).squeeze(1)

    @torch.no_grad()
    def score(self, texts, batch_size: int = 16) -> list[float]:
        """Rewards for raw texts or (prompt, answer) pairs (prompt rendered with the chat template)."""
        self.eval()
        device = next(self.parameters()).device
        ids = []
        for t in texts:
            if isinstance(t, (tuple, list)):
                ids.append(encode_prompt_answer(self.tokenizer, t[0], normalise_answer(t[1]), self.max_length)[0])
            else:
                ids.append(self.tokenizer(t, add_special_tokens=False)["input_ids"][-self.max_length:])
        out = []
        for i in range(0, len(ids), batch_size):
            chunk = ids[i:i + batch_size]
            x = pad(chunk, self.tokenizer.pad_token_id).to(device)
            m = pad([[1] * len(s) for s in chunk], 0).to(device)
            out += self(x, m).tolist()
        return out


def reward_model_from_lm(path, tokenizer=None) -> RewardModel:
    """A fresh RM: the base transformer of a causal-LM directory (AutoModel) + a new head."""
    from transformers import AutoModel

    return RewardModel(AutoModel.from_pretrained(str(path), dtype=torch.float32), tokenizer)


def save_reward_model(rm: RewardModel, path, extra: dict | None = None):
    from safetensors.torch import save_file

    from .device import merged

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    rm.backbone = merged(rm.backbone, path)  # LoRA: adapter to <path>/adapter, merged weights below
    rm.backbone.save_pretrained(str(path))
    if rm.tokenizer is not None:
        rm.tokenizer.save_pretrained(str(path))
    save_file({"weight": rm.head.weight.detach().cpu().contiguous(), "bias": rm.head.bias.detach().cpu().contiguous()},
              str(path / HEAD_FILE))
    (path / CONFIG_FILE).write_text(json.dumps({"type": "reward_model", "head": HEAD_FILE, **(extra or {})}, indent=2))


def load_reward_model(path, device="cpu") -> RewardModel:
    """Load a directory written by ``save_reward_model`` (or a plain LM dir: new head)."""
    from safetensors.torch import load_file

    from .device import load_tokenizer

    path = Path(path)
    rm = reward_model_from_lm(path, load_tokenizer(path))
    if (path / HEAD_FILE).exists():
        rm.head.load_state_dict(load_file(str(path / HEAD_FILE)))
    return rm.to(device)


# ---- K-wise batching and loss --------------------------------------------------------------------


def encode_ranking(tokenizer, ranking, max_length: int, truncation: Truncation | None = None) -> dict:
    seqs = [encode_prompt_answer(tokenizer, ranking.prompt, r, max_length, truncation)[0] for r in ranking.responses]
    return {"seqs": seqs, "pairs": ranking.pairs(), "ties": ranking.ties(), "prompt": ranking.prompt,
            "responses": ranking.responses}


def ranking_weight(record: dict) -> float:
    """A line's optional ``weight`` (default 1): a finite number >= 0."""
    weight = record.get("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight) or weight < 0:
        raise ValueError(f"weight must be a finite number >= 0, not {weight!r}")
    return float(weight)


def check_weighted_ranking(record: dict):
    """``RANKINGS``' check plus the optional weight (a bad line is reported with its file and line)."""
    RANKINGS(record)
    ranking_weight(record)


def encode_weighted(tokenizer, record: dict, max_length: int, truncation: Truncation | None = None) -> dict:
    return {**encode_ranking(tokenizer, to_ranking(record), max_length, truncation), "weight": ranking_weight(record)}


def collate_rankings(items: list[dict], pad_id: int) -> dict:
    """Flatten the answers of all rankings into one right-padded batch; pairs become global indices."""
    seqs, w, l, pair_ranking, ta, tb, tie_ranking = [], [], [], [], [], [], []
    for r, item in enumerate(items):
        offset = len(seqs)
        seqs += item["seqs"]
        for a, b in item["pairs"]:
            w.append(offset + a)
            l.append(offset + b)
            pair_ranking.append(r)
        for a, b in item.get("ties", []):
            ta.append(offset + a)
            tb.append(offset + b)
            tie_ranking.append(r)
    as_long = lambda xs: torch.tensor(xs, dtype=torch.long)  # noqa: E731
    return {
        "ties": (as_long(ta), as_long(tb), as_long(tie_ranking)),
        "input_ids": pad(seqs, pad_id),
        "attention_mask": pad([[1] * len(s) for s in seqs], 0),
        "w": torch.tensor(w, dtype=torch.long), "l": torch.tensor(l, dtype=torch.long),
        "pair_ranking": torch.tensor(pair_ranking, dtype=torch.long), "n_rankings": len(items),
        "weights": torch.tensor([item.get("weight", 1.0) for item in items], dtype=torch.float32),
    }


def kwise_loss(rewards, w, l, pair_ranking, n_rankings: int, ties=None, tie_weight: float = 0.0,
               weights=None) -> torch.Tensor:
    """mean over rankings of  −1/P Σ_(w,l) log σ(r_w − r_l)   (+ optional tie terms, see module doc);
    with ``weights`` (one per ranking): Σ w_r·loss_r / Σ w_r over the rankings that have pairs."""
    per_ranking, scored = ranking_losses(rewards, w, l, pair_ranking, n_rankings, ties, tie_weight)
    if weights is None:
        weights = torch.ones_like(per_ranking)
    total = weights.to(per_ranking.device)[scored].sum()
    if not scored.any() or total <= 0:
        return rewards.sum() * 0.0
    return (per_ranking * weights.to(per_ranking.device))[scored].sum() / total


def ranking_losses(rewards, w, l, pair_ranking, n_rankings: int, ties=None, tie_weight: float = 0.0):
    """(−1/P Σ_(w,l) log σ(r_w − r_l) per ranking, mask of rankings that have a pair or a weighted tie)."""
    pair_loss = -F.logsigmoid(rewards[w] - rewards[l])
    per_ranking = torch.zeros(n_rankings, device=rewards.device).index_add(0, pair_ranking, pair_loss)
    P = torch.zeros(n_rankings, device=rewards.device).index_add(0, pair_ranking, torch.ones_like(pair_loss))
    if tie_weight > 0 and ties is not None and len(ties[0]):
        a, b, tie_ranking = (t.to(rewards.device) for t in ties)
        d = rewards[a] - rewards[b]
        tie_loss = -0.5 * (F.logsigmoid(d) + F.logsigmoid(-d))
        per_ranking = per_ranking.index_add(0, tie_ranking, tie_weight * tie_loss)
        P = P.index_add(0, tie_ranking, torch.full_like(tie_loss, tie_weight))
    scored = P > 0
    return torch.where(scored, per_ranking / P.clamp(min=1e-12), torch.zeros_like(per_ranking)), scored


def scored_rankings(items: list[dict], tie_weight: float) -> float:
    """Σ weight of the rankings that contribute to the loss (the unit the batch loss averages over)."""
    return sum(item.get("weight", 1.0) for item in items if item["pairs"] or (tie_weight > 0 and item.get("ties")))


def prefix_reuse_rewards(rm: RewardModel, tokenizer, items: list[dict], device="cpu") -> torch.Tensor:
    """Rewards with the prompt encoded once per ranking; answers run on the KV cache expanded to K rows."""
    from transformers import DynamicCache

    out = []
    for item in items:
        p_ids = encode_prompt(tokenizer, item["prompt"], rm.max_length)
        answers = [s[len(p_ids):] if s[:len(p_ids)] == p_ids else None for s in item["seqs"]]
        if any(a is None or not a for a in answers):  # truncated prompt: fall back to full sequences
            x = pad(item["seqs"], tokenizer.pad_token_id).to(device)
            out.append(rm(x, pad([[1] * len(s) for s in item["seqs"]], 0).to(device)))
            continue
        K, Lp = len(answers), len(p_ids)
        prefix = torch.tensor([p_ids], device=device)
        cache = rm.backbone(input_ids=prefix, attention_mask=torch.ones_like(prefix), use_cache=True).past_key_values
        if isinstance(cache, DynamicCache):
            cache.batch_repeat_interleave(K)
        else:
            cache = tuple((k.expand(K, -1, -1, -1), v.expand(K, -1, -1, -1)) for k, v in cache)
        a = pad(answers, tokenizer.pad_token_id).to(device)
        am = pad([[1] * len(s) for s in answers], 0).to(device)
        mask = torch.cat([torch.ones(K, Lp, dtype=am.dtype, device=device), am], 1)
        pos = torch.arange(Lp, Lp + a.size(1), device=device).expand(K, -1)
        h = rm.backbone(input_ids=a, attention_mask=mask, position_ids=pos, past_key_values=cache,
                        use_cache=False).last_hidden_state
        values = rm.head(h).squeeze(-1).float()
        out.append(values.gather(1, last_token_index(am)[:, None]).squeeze(1))
    return torch.cat(out)


def rewards_for(rm, items, batch, device, prefix_reuse=False):
    """Rewards of a collated batch through ``rm`` itself (a DDP wrapper included, so gradients sync)."""
    if prefix_reuse:
        return rm(prefix_items=items)
    return rm(batch["input_ids"].to(device), batch["attention_mask"].to(device))


@torch.no_grad()
def evaluate_rankings(rm, tokenizer, items: list[dict], batch_size: int = 8, device="cpu") -> dict:
    """Held-out loss, pairwise accuracy (non-tied pairs ordered right) and per-ranking accuracy (all right)."""
    rm.eval()
    correct = pairs = rankings_right = rankings = 0
    loss_sum = 0.0
    for i in range(0, len(items), batch_size):
        chunk = items[i:i + batch_size]
        batch = collate_rankings(chunk, tokenizer.pad_token_id)
        r = rm(batch["input_ids"].to(device), batch["attention_mask"].to(device)).cpu()
        ok = (r[batch["w"]] > r[batch["l"]])
        correct += ok.sum().item()
        pairs += ok.numel()
        for j, item in enumerate(chunk):
            if item["pairs"]:
                rankings += 1
                rankings_right += int(ok[batch["pair_ranking"] == j].all().item())
        if ok.numel():
            loss_sum += kwise_loss(r, batch["w"], batch["l"], batch["pair_ranking"], batch["n_rankings"]).item() * len(chunk)
    return {"eval_loss": loss_sum / max(len(items), 1), "eval_pair_accuracy": correct / max(pairs, 1),
            "eval_ranking_accuracy": rankings_right / max(rankings, 1), "eval_pairs": pairs, "eval_rankings": rankings}


def train_reward_model(model, data, out_dir, config: RMConfig | None = None, eval_data=None, demonstrations=None,
                       on_progress=None, should_stop=None) -> TrainResult:
    """Train an RM from the causal LM (or RM) at ``model`` on rankings/pairs; save to ``out_dir``."""
    from .device import apply_lora, make_accelerator, make_optimizer

    config = config or RMConfig()
    out_dir = Path(out_dir)
    seed_everything(config.seed)
    accelerator = make_accelerator(config.mixed_precision)
    rm = load_reward_model(model)
    rm.max_length = max_length = min(config.max_length, rm.max_length)
    rm.backbone = apply_lora(rm.backbone, config)
    # the loss sees only reward differences, so the head bias has no gradient; left trainable, Adam turns float
    # noise into steps of size ~lr. It stays fixed here; normalisation sets it after training.
    rm.head.bias.requires_grad_(False)
    tokenizer = rm.tokenizer

    train_records, eval_records = train_and_held_out(data, eval_data, check_weighted_ranking, config.eval_fraction, config.seed)
    trunc = Truncation()
    train = [encode_weighted(tokenizer, r, max_length, trunc) for r in train_records]
    held = [encode_ranking(tokenizer, to_ranking(r), max_length, trunc) for r in eval_records]
    if not train:
        raise ValueError("no training rankings")
    schedule = epoch_schedule([sum(map(len, t["seqs"])) for t in train], config.batch_size, config.seed,
                              config.epochs, config.max_steps)
    optimizer, scheduler = make_optimizer(rm.parameters(), config.learning_rate, config.weight_decay,
                                          config.warmup_steps, len(schedule))
    rm, optimizer, scheduler = accelerator.prepare(rm, optimizer, scheduler)

    def step_fn(step: int) -> dict:
        rm.train()
        local, weight = shard(schedule[step], accelerator)
        units = scored_rankings([train[i] for i in schedule[step]], config.tie_weight)  # GLOBAL batch's Σ weight
        pairs = sum(len(train[i]["pairs"]) for i in schedule[step])
        items = [train[i] for i in local]
        batch = collate_rankings(items, tokenizer.pad_token_id)
        with accelerator.autocast():
            rewards = rewards_for(rm, items, batch, accelerator.device, config.prefix_reuse)
        dev = rewards.device
        per_ranking, _ = ranking_losses(rewards.float(), batch["w"].to(dev), batch["l"].to(dev),
                                        batch["pair_ranking"].to(dev), batch["n_rankings"], batch["ties"],
                                        config.tie_weight)
        loss_sum = (per_ranking * batch["weights"].to(dev)).sum() * weight
        # + 0·Σr keeps every parameter in the graph when this shard has no pair (DDP then still all-reduces)
        accelerator.backward(scaled(loss_sum, units, accelerator) + rewards.sum() * 0.0)
        accelerator.clip_grad_norm_(rm.parameters(), config.max_grad_norm)
        lr = current_lr(optimizer)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        with torch.no_grad():
            correct = (rewards[batch["w"].to(dev)] > rewards[batch["l"].to(dev)]).float().sum().item() * weight
        totals = global_sum([loss_sum.item(), correct], accelerator)
        return {"loss": totals[0].item() / units if units else 0.0, "pair_accuracy": totals[1].item() / max(pairs, 1), "lr": lr}

    steps, metrics, stopped = run_steps(
        out_dir=out_dir, total_steps=len(schedule), step_fn=step_fn,
        objects={"model": rm, "optimizer": optimizer, "scheduler": scheduler},
        log_every=config.log_every, save_every=config.save_every, on_progress=on_progress,
        should_stop=should_stop, desc="rm", accelerator=accelerator)
    metrics = dict(metrics)
    metrics.update({f"truncation_{k}": v for k, v in trunc.as_dict().items()})
    if stopped:
        return TrainResult(str(out_dir), metrics, steps, len(schedule), True)
    rm = accelerator.unwrap_model(rm)
    extra = {}
    if config.normalize and demonstrations is not None:
        demos = load_records(demonstrations, DEMONSTRATIONS)
        scores = rm.score([(prompt_of(d), d["completion"]) for d in demos])
        offset = sum(scores) / max(len(scores), 1)
        with torch.no_grad():
            rm.head.bias -= offset
        extra["normalization_offset"] = offset
        metrics["normalization_offset"] = offset
    if held:
        metrics.update(evaluate_rankings(rm, tokenizer, held, device=accelerator.device))
    if accelerator.is_main_process:
        save_reward_model(rm, out_dir, extra)
        append_metrics(out_dir, {"step": steps, "final": True, **metrics})
    return TrainResult(str(out_dir), metrics, steps, len(schedule), False)


__all__ = ["RMConfig", "RewardModel", "train_reward_model", "load_reward_model", "save_reward_model", "kwise_loss",
           "collate_rankings", "encode_ranking", "evaluate_rankings", "last_token_index", "render_prompt"]
