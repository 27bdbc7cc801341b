"""Supervised fine-tuning on demonstrations {"prompt", "completion"}.

loss = − Σ_t∈completion log π(y_t | x, y_<t) / #completion tokens   (prompt tokens have label −100)

Batches are length-bucketed; a held-out split (``eval_fraction`` or ``eval_data``) reports eval loss.
Several processes split each global batch and divide by its completion-token count (``parallel.py``), so
N processes take the same step as one. ``lora_r`` > 0 trains LoRA adapters and saves the merged model.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from .checkpoint import run_steps, seed_everything
from .config import TrainResult, check_common
from .data import DEMONSTRATIONS, Truncation, collate_lm, epoch_schedule, sft_example, train_and_held_out
from .parallel import current_lr, global_sum, scaled, shard


@dataclass
class SFTConfig:
    epochs: int = 1
    max_steps: int = 0            # 0: run `epochs` epochs
    batch_size: int = 8           # demonstrations per optimizer step, split across processes
    learning_rate: float = 1e-4
    weight_decay: float = 0.0
    warmup_steps: int = 0
    max_grad_norm: float = 1.0
    max_length: int = 512
    eval_fraction: float = 0.05   # held out from `data` when no eval_data is given
    bucket: bool = True           # length bucketing
    seed: int = 0
    log_every: int = 10
    save_every: int = 100
    mixed_precision: str = "no"   # "bf16" on GPU
    lora_r: int = 0               # LoRA rank (0: train all weights)
    lora_alpha: float = 16.0      # LoRA scale α (the update is α/r · BA)
    lora_dropout: float = 0.0     # dropout on the LoRA input
    lora_target_modules: str = ""  # comma-separated module names (empty: peft's default for the architecture)

    def __post_init__(self):
        check_common(self)


def token_nll_sum(model, batch: dict) -> torch.Tensor:
    """Σ −log π(y_t | y_<t) over labelled tokens (labels −100 are ignored); divide by ``target_count``."""
    logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1].float()
    labels = batch["labels"][:, 1:]
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), labels.reshape(-1),
                                             ignore_index=-100, reduction="sum")


def target_count(example: dict) -> int:
    """Tokens an example is scored on (labels after the one-token shift)."""
    return sum(1 for t in example["labels"][1:] if t != -100)


@torch.no_grad()
def lm_loss(model, examples: list[dict], pad_id: int, batch_size: int = 16, device="cpu") -> float:
    """Mean per-token loss on labelled tokens (completion tokens, or all tokens for plain text)."""
    model.eval()
    total, count = 0.0, 0
    for i in range(0, len(examples), batch_size):
        batch = collate_lm(examples[i:i + batch_size], pad_id)
        batch = {k: v.to(device) for k, v in batch.items()}
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits[:, :-1].float()
        labels = batch["labels"][:, 1:]
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), labels.reshape(-1),
                                                 ignore_index=-100, reduction="sum")
        total += loss.item()
        count += (labels != -100).sum().item()
    return total / max(count, 1)


def train_sft(model, data, out_dir, config: SFTConfig | None = None, eval_data=None,
              on_progress=None, should_stop=None) -> TrainResult:
    """Fine-tune the causal LM at ``model`` (HF dir) on demonstrations; save an HF dir at ``out_dir``."""
    from .device import (apply_lora, context_length, load_causal_lm, load_tokenizer, make_accelerator,
                         make_optimizer, save_causal_lm)

    config = config or SFTConfig()
    out_dir = Path(out_dir)
    seed_everything(config.seed)
    accelerator = make_accelerator(config.mixed_precision)
    tokenizer = load_tokenizer(model)
    lm = apply_lora(load_causal_lm(model), config)
    max_length = min(config.max_length, context_length(lm.config))

    train_records, eval_records = train_and_held_out(data, eval_data, DEMONSTRATIONS, config.eval_fraction, config.seed)
    trunc = Truncation()
    train = [sft_example(tokenizer, r, max_length, trunc) for r in train_records]
    held = [sft_example(tokenizer, r, max_length, trunc) for r in eval_records]
    if not train:
        raise ValueError("no training demonstrations")
    schedule = epoch_schedule([len(e["input_ids"]) for e in train], config.batch_size, config.seed,
                              config.epochs, config.max_steps, config.bucket)

    optimizer, scheduler = make_optimizer(lm.parameters(), config.learning_rate, config.weight_decay,
                                          config.warmup_steps, len(schedule))
    lm, optimizer, scheduler = accelerator.prepare(lm, optimizer, scheduler)

    def step_fn(step: int) -> dict:
        lm.train()
        local, weight = shard(schedule[step], accelerator)
        tokens = sum(target_count(train[i]) for i in schedule[step])  # the GLOBAL batch's count
        batch = collate_lm([train[i] for i in local], tokenizer.pad_token_id)
        batch = {k: v.to(accelerator.device) for k, v in batch.items()}
        with accelerator.autocast():
            nll = token_nll_sum(lm, batch) * weight
        accelerator.backward(scaled(nll, tokens, accelerator))
        accelerator.clip_grad_norm_(lm.parameters(), config.max_grad_norm)
        lr = current_lr(optimizer)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        return {"loss": global_sum(nll.item(), accelerator).item() / max(tokens, 1), "lr": lr}

    steps, metrics, stopped = run_steps(
        out_dir=out_dir, total_steps=len(schedule), step_fn=step_fn,
        objects={"model": lm, "optimizer": optimizer, "scheduler": scheduler},
        log_every=config.log_every, save_every=config.save_every, on_progress=on_progress,
        should_stop=should_stop, desc="sft", accelerator=accelerator)
    metrics = dict(metrics)
    metrics.update({f"truncation_{k}": v for k, v in trunc.as_dict().items()})
    if not stopped:
        if held:
            metrics["eval_loss"] = lm_loss(accelerator.unwrap_model(lm), held, tokenizer.pad_token_id,
                                           device=accelerator.device)
        if accelerator.is_main_process:
            save_causal_lm(accelerator.unwrap_model(lm), tokenizer, out_dir)
            from .checkpoint import append_metrics
            append_metrics(out_dir, {"step": steps, "final": True, **metrics})
    return TrainResult(str(out_dir), metrics, steps, len(schedule), stopped)
