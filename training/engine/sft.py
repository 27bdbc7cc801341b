"""Supervised fine-tuning on demonstrations {"prompt", "completion"}.

loss = − Σ_t∈completion log π(y_t | x, y_<t) / #completion tokens   (prompt tokens have label −100)

Batches are length-bucketed; a held-out split (``eval_fraction`` or ``eval_data``) reports eval loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from .checkpoint import run_steps, seed_everything
from .config import TrainResult, check_common
from .data import Truncation, collate_lm, epoch_schedule, load_records, sft_example, split_eval


@dataclass
class SFTConfig:
    epochs: int = 1
    max_steps: int = 0            # 0: run `epochs` epochs
    batch_size: int = 8
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

    def __post_init__(self):
        check_common(self)


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
    from .device import load_causal_lm, load_tokenizer, make_accelerator, make_optimizer

    config = config or SFTConfig()
    out_dir = Path(out_dir)
    seed_everything(config.seed)
    accelerator = make_accelerator(config.mixed_precision)
    tokenizer = load_tokenizer(model)
    lm = load_causal_lm(model)

    records = load_records(data)
    if eval_data is not None:
        train_records, eval_records = records, load_records(eval_data)
    else:
        train_records, eval_records = split_eval(records, config.eval_fraction, config.seed)
    trunc = Truncation()
    train = [sft_example(tokenizer, r, config.max_length, trunc) for r in train_records]
    held = [sft_example(tokenizer, r, config.max_length, trunc) for r in eval_records]
    if not train:
        raise ValueError("no training demonstrations")
    schedule = epoch_schedule([len(e["input_ids"]) for e in train], config.batch_size, config.seed,
                              config.epochs, config.max_steps, config.bucket)

    optimizer, scheduler = make_optimizer(lm.parameters(), config.learning_rate, config.weight_decay,
                                          config.warmup_steps, len(schedule))
    lm, optimizer, scheduler = accelerator.prepare(lm, optimizer, scheduler)
    from .device import shard

    def step_fn(step: int) -> dict:
        lm.train()
        batch = collate_lm([train[i] for i in shard(schedule[step], accelerator)], tokenizer.pad_token_id)
        batch = {k: v.to(accelerator.device) for k, v in batch.items()}
        with accelerator.autocast():
            loss = lm(**batch).loss  # HF shifts labels; −100 (prompt, padding) is ignored
        accelerator.backward(loss)
        accelerator.clip_grad_norm_(lm.parameters(), config.max_grad_norm)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        return {"loss": loss.item()}

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
            accelerator.unwrap_model(lm).save_pretrained(str(out_dir))
            tokenizer.save_pretrained(str(out_dir))
            from .checkpoint import append_metrics
            append_metrics(out_dir, {"step": steps, "final": True, **metrics})
    return TrainResult(str(out_dir), metrics, steps, len(schedule), stopped)
