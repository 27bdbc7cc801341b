"""Device placement (accelerate), model/tokenizer loading, LoRA, saving, and the optimizer every trainer uses.

LoRA (``peft``): with ``lora_r`` > 0 a trainer freezes the base weights and trains low-rank adapters on
``lora_target_modules`` (comma-separated module names; empty: peft's default for the architecture, e.g.
GPT-2 ``c_attn``, LLaMA ``q_proj,v_proj``). Saving writes the adapter to ``<out>/adapter`` and the MERGED
model to ``<out>`` itself, so sampling, PPO and serving load the result like any other model.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, get_linear_schedule_with_warmup

from .config import ConfigError
from .progress import is_terminal

if not is_terminal(sys.stderr):
    # transformers draws a carriage-return bar for every load and save ("Loading weights", "Writing
    # model shards"); in a log file (a worker, CI, the experiment) those are noise, so only a terminal gets them.
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()


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
    # the scheduler steps once per optimizer step whatever the number of processes (parallel.py, fact 4)
    return Accelerator(mixed_precision=mixed_precision, step_scheduler_with_optimizer=False)


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


def context_length(model_config, default: int = 1024) -> int:
    """Longest sequence the model's position embeddings allow (GPT-2 n_positions, LLaMA max_position_embeddings)."""
    for name in ("n_positions", "max_position_embeddings", "n_ctx"):
        value = getattr(model_config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return default


def disable_dropout(model):
    """Dropout probability 0 everywhere (PPO: log-probs in rollouts and updates must be the same function)."""
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    for name in ("attention_dropout", "attn_pdrop", "resid_pdrop", "embd_pdrop", "hidden_dropout", "dropout"):
        if isinstance(getattr(model.config, name, None), float):
            setattr(model.config, name, 0.0)
    return model


def apply_lora(model, config):
    """Wrap ``model`` with LoRA adapters when ``config.lora_r`` > 0 (else return it unchanged)."""
    if not config.lora_r:
        return model
    from peft import LoraConfig, get_peft_model

    targets = [t.strip() for t in config.lora_target_modules.split(",") if t.strip()] or None
    lora = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                      target_modules=targets, bias="none")
    try:
        return get_peft_model(model, lora)
    except ValueError as e:  # e.g. a target module the model does not have
        raise ConfigError("lora_target_modules", str(e)) from e


def is_peft(model) -> bool:
    return hasattr(model, "merge_and_unload") and hasattr(model, "disable_adapter")


def merged(model, out_dir=None):
    """The plain model to save: a LoRA model's adapter goes to ``<out_dir>/adapter``, its weights are merged."""
    if not is_peft(model):
        return model
    if out_dir is not None:
        model.save_pretrained(str(Path(out_dir) / "adapter"))
    return model.merge_and_unload()


def save_causal_lm(model, tokenizer, out_dir):
    """An HF directory any loader reads (merged weights under LoRA, see module doc)."""
    model = merged(model, out_dir)
    model.save_pretrained(str(out_dir))
    tokenizer.save_pretrained(str(out_dir))
    return model


class WithoutAdapters:
    """A LoRA policy with its adapters switched off: PPO's reference model without a second copy of the weights."""

    def __init__(self, peft_model):
        self.model = peft_model

    def __call__(self, **kwargs):
        with self.model.disable_adapter():
            return self.model(**kwargs)
