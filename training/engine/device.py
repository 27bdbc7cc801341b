"""Device placement (accelerate), model/tokenizer loading and the optimizer every trainer uses."""

from __future__ import annotations

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, get_linear_schedule_with_warmup


def make_accelerator(mixed_precision: str = "no"):
    """One Accelerator per job: CPU fp32, one GPU (bf16 when asked) or ``accelerate launch`` multi-GPU."""
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState

    if not torch.cuda.is_available() and mixed_precision == "fp16":
        mixed_precision = "no"  # fp16 autocast needs a GPU; bf16 works on CPU too
    state = AcceleratorState._shared_state
    if state and state.get("_mixed_precision", mixed_precision) != mixed_precision and \
            state.get("num_processes", 1) == 1:
        # a long-lived worker running jobs with different precisions: accelerate keeps one global state
        AcceleratorState._reset_state(reset_partial_state=False)
    return Accelerator(mixed_precision=mixed_precision)


def load_tokenizer(path):
    tok = AutoTokenizer.from_pretrained(str(path))
    if tok.pad_token_id is None:
        tok.pad_token = tok.eos_token  # pad == eos is fine: we always use attention masks
    return tok


def load_causal_lm(path, dtype=torch.float32):
    return AutoModelForCausalLM.from_pretrained(str(path), dtype=dtype)


def make_optimizer(params, learning_rate: float, weight_decay: float, warmup_steps: int, total_steps: int):
    params = [p for p in params if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=learning_rate)
    scheduler = get_linear_schedule_with_warmup(optimizer, warmup_steps, max(total_steps, 1))
    return optimizer, scheduler


def to_device(batch: dict, device) -> dict:
    return {k: v.to(device) if isinstance(v, torch.Tensor) else v for k, v in batch.items()}


def shard(indices: list, accelerator) -> list:
    """This process's share of a batch under multi-process data parallelism."""
    if accelerator is None or accelerator.num_processes == 1:
        return indices
    part = indices[accelerator.process_index::accelerator.num_processes]
    return part or indices[:1]
