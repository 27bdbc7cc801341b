"""Reward-model ensemble: how sure is the reward model about a ranking it has not seen?

H linear heads share one transformer backbone (one forward per answer, whatever H). Head h is trained on
its own bootstrap resample of the rankings, drawn the online way: ranking r counts c_hr ~ Poisson(1)
times for head h (the count a resample with replacement of the same size would give it, in the limit),
fixed for the whole run. Each head's loss is the K-wise loss of the reward model (training.engine.reward),
weighted by those counts and by the line's own ``weight`` (labeler weighting):

    loss_h = Σ_r c_hr·w_r·loss_hr / Σ_r c_hr·w_r,    loss_hr = −1/P · Σ_(w,l) log σ(r_h(x, y_w) − r_h(x, y_l))

and the step minimises Σ_h loss_h. By default the backbone is frozen (start from a trained reward model:
its features already carry the preference) and only the heads learn, which makes the ensemble cheap
(the backbone runs forward only) and makes spread mean ignorance. Measured on the synthetic test world:
with the backbone frozen the spread on gibberish answers was 10× the spread on training answers (0.43
vs 0.043) and 2.7× on answers with adjectives never ranked; training the shared backbone as well
(lr 2e-4) made the heads agree on the direction but not the scale, so the spread followed the size of
the rewards instead (0.11 on training answers, 0.06 on gibberish).

Scoring the K answers of one prompt: a ranking loss fixes only differences of rewards, so each head's
rewards are centred on the prompt's mean before they are compared across heads. An answer's `mean` is
the heads' mean reward, its `spread` the standard deviation over heads of its centred reward, and a
task's uncertainty is the mean spread of its answers. Where the training data pinned the heads down they
agree; on answers unlike it they part.

Saved layout: a reward-model directory (``save_reward_model``) whose head is the heads' mean — the
ensemble's mean reward, so anything that loads a reward model (PPO, evaluation) uses it as one — plus
``ensemble_heads.safetensors`` (weight H×hidden, bias H). ``load_ensemble(path)`` reads both.
No resume: an ensemble job is a few epochs of linear heads on one backbone; a rerun starts over.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from .config import TrainResult
from .data import epoch_schedule, load_records, pad, to_ranking
from .reward import (RewardModel, collate_rankings, encode_ranking, last_token_index, load_reward_model,
                     save_reward_model)

HEADS_FILE = "ensemble_heads.safetensors"


@dataclass
class EnsembleConfig:
    heads: int = 5                # ensemble members (linear heads)
    epochs: int = 10
    max_steps: int = 0            # 0: run `epochs` epochs
    batch_size: int = 8           # rankings per step
    head_learning_rate: float = 5e-2
    train_backbone: bool = False  # True: the shared backbone learns too (see the module docstring)
    learning_rate: float = 5e-5   # the backbone's, when it trains
    max_length: int = 512
    seed: int = 0
    log_every: int = 10

    def __post_init__(self):
        if isinstance(self.heads, bool) or not isinstance(self.heads, int) or not 2 <= self.heads <= 64:
            raise ValueError("heads must be a whole number from 2 to 64")
        for name in ("epochs", "batch_size", "max_length"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        for name in ("learning_rate", "head_learning_rate"):
            if not math.isfinite(getattr(self, name)) or getattr(self, name) <= 0:
                raise ValueError(f"{name} must be a positive number")


class Ensemble(nn.Module):
    """The backbone of a reward model and H heads; ``rewards`` gives every head's reward (N, H)."""

    def __init__(self, rm: RewardModel, heads: int, seed: int = 0):
        super().__init__()
        self.rm = rm
        hidden = rm.backbone.config.hidden_size
        self.heads = nn.Linear(hidden, heads)
        generator = torch.Generator().manual_seed(seed)
        with torch.no_grad():  # independent draws: the heads start apart
            self.heads.weight.copy_(torch.randn(heads, hidden, generator=generator) / (hidden + 1) ** 0.5)
            self.heads.bias.zero_()

    @property
    def tokenizer(self):
        return self.rm.tokenizer

    def forward(self, input_ids, attention_mask):
        from .data import position_ids_from_mask

        out = self.rm.backbone(input_ids=input_ids, attention_mask=attention_mask,
                               position_ids=position_ids_from_mask(attention_mask), use_cache=False)
        last = out.last_hidden_state[torch.arange(input_ids.size(0)), last_token_index(attention_mask)]
        return self.heads(last).float()

    @torch.no_grad()
    def score(self, prompt, answers, batch_size: int = 16) -> dict:
        """{"mean": [per answer], "spread": [per answer], "uncertainty": mean spread} for one prompt's answers."""
        from .data import encode_prompt_answer, normalise_answer

        self.eval()
        ids = [encode_prompt_answer(self.tokenizer, prompt, normalise_answer(a), self.rm.max_length)[0] for a in answers]
        rows = []
        for i in range(0, len(ids), batch_size):
            chunk = ids[i:i + batch_size]
            rows.append(self(pad(chunk, self.tokenizer.pad_token_id), pad([[1] * len(s) for s in chunk], 0)))
        rewards = torch.cat(rows)                       # (K, H)
        centred = rewards - rewards.mean(0, keepdim=True)
        spread = centred.std(1, unbiased=True)
        return {"mean": rewards.mean(1).tolist(), "spread": spread.tolist(), "uncertainty": spread.mean().item()}


def bootstrap_counts(n_rankings: int, heads: int, seed: int) -> torch.Tensor:
    """c_hr ~ Poisson(1): how often head h sees ranking r (its resample), shape (H, R)."""
    generator = torch.Generator().manual_seed(seed + 7919)
    return torch.poisson(torch.ones(heads, n_rankings), generator=generator)


def per_ranking_losses(rewards, w, l, pair_ranking, n_rankings):
    """loss_r = −1/P Σ_(w,l) log σ(r_w − r_l) per ranking (0 where a ranking has no pair), and P."""
    pair_loss = -F.logsigmoid(rewards[w] - rewards[l])
    total = torch.zeros(n_rankings).index_add(0, pair_ranking, pair_loss)
    P = torch.zeros(n_rankings).index_add(0, pair_ranking, torch.ones_like(pair_loss))
    return total / P.clamp(min=1), P


def ensemble_loss(rewards, batch, counts):
    """Σ_h Σ_r c_hr·w_r·loss_hr / Σ_r c_hr·w_r  for a batch: rewards (N, H), counts (H, R) of its rankings."""
    weights = torch.as_tensor(batch["weights"], dtype=torch.float32)
    total = rewards.sum() * 0.0
    for h in range(rewards.size(1)):
        losses, P = per_ranking_losses(rewards[:, h], batch["w"], batch["l"], batch["pair_ranking"], batch["n_rankings"])
        c = counts[h] * weights * (P > 0)
        if c.sum() > 0:
            total = total + (c * losses).sum() / c.sum()
    return total


def _weight(record):
    weight = record.get("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight) or weight < 0:
        raise ValueError(f"weight must be a finite number >= 0, not {weight!r}")
    return float(weight)


def train_ensemble(model, data, out_dir, config: EnsembleConfig | None = None, on_progress=None,
                   should_stop=None) -> TrainResult:
    """Train H bootstrap heads (and the backbone, if asked) from the LM or RM at ``model`` on rankings/pairs.
    With ``out_dir`` = ``model`` and the backbone frozen, only the heads file is added: the reward model
    keeps its own head (a reward-model job's ``ensemble_heads``)."""
    config = config or EnsembleConfig()
    torch.manual_seed(config.seed)
    out_dir = Path(out_dir)
    rm = load_reward_model(model)
    rm.max_length = min(config.max_length, getattr(rm, "max_length", config.max_length))
    ensemble = Ensemble(rm, config.heads, config.seed)
    records = load_records(data)
    items = []
    for record in records:
        item = encode_ranking(rm.tokenizer, to_ranking(record), rm.max_length)
        item["weight"] = _weight(record)
        items.append(item)
    if not items:
        raise ValueError("no training rankings")
    counts = bootstrap_counts(len(items), config.heads, config.seed)
    schedule = epoch_schedule([sum(map(len, t["seqs"])) for t in items], config.batch_size, config.seed,
                              config.epochs, config.max_steps)
    for p in rm.backbone.parameters():
        p.requires_grad_(config.train_backbone)
    groups = [{"params": ensemble.heads.parameters(), "lr": config.head_learning_rate}]
    if config.train_backbone:
        groups.append({"params": rm.backbone.parameters(), "lr": config.learning_rate})
    optimizer = torch.optim.AdamW(groups, weight_decay=0.0)
    metrics, done = {}, 0
    for step, indices in enumerate(schedule):
        if should_stop is not None and should_stop():
            return TrainResult(str(out_dir), metrics, done, len(schedule), True)
        ensemble.train()
        batch = collate_rankings([items[i] for i in indices], rm.tokenizer.pad_token_id)
        batch["weights"] = [items[i]["weight"] for i in indices]
        rewards = ensemble(batch["input_ids"], batch["attention_mask"])
        loss = ensemble_loss(rewards, batch, counts[:, indices])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(ensemble.parameters(), 1.0)
        optimizer.step()
        done, metrics = step + 1, {"loss": loss.item() / config.heads}
        if on_progress is not None and (done % config.log_every == 0 or done == len(schedule)):
            on_progress(done, len(schedule), metrics)
    if Path(out_dir).resolve() == Path(model).resolve() and not config.train_backbone:
        save_heads(ensemble, out_dir)
    else:
        save_ensemble(ensemble, out_dir, config)
    return TrainResult(str(out_dir), metrics, len(schedule), len(schedule), False)


def save_ensemble(ensemble: Ensemble, path, config: EnsembleConfig):
    path = Path(path)
    with torch.no_grad():  # the saved reward head is the ensemble's mean reward
        ensemble.rm.head.weight.copy_(ensemble.heads.weight.mean(0, keepdim=True))
        ensemble.rm.head.bias.copy_(ensemble.heads.bias.mean().reshape(1))
    save_reward_model(ensemble.rm, path, {"ensemble_heads": config.heads,
                                          "bootstrap": "Poisson(1) count per ranking per head", "seed": config.seed})
    save_heads(ensemble, path)


def save_heads(ensemble: Ensemble, path):
    from safetensors.torch import save_file

    save_file({"weight": ensemble.heads.weight.detach().contiguous(), "bias": ensemble.heads.bias.detach().contiguous()},
              str(Path(path) / HEADS_FILE))


def is_ensemble(path) -> bool:
    return (Path(path) / HEADS_FILE).exists()


def load_ensemble(path) -> Ensemble:
    from safetensors.torch import load_file

    path = Path(path)
    if not is_ensemble(path):
        raise ValueError(f"{path} is not a reward-model ensemble (no {HEADS_FILE})")
    heads = load_file(str(path / HEADS_FILE))
    ensemble = Ensemble(load_reward_model(path), heads["weight"].shape[0])
    ensemble.heads.load_state_dict(heads)
    return ensemble
