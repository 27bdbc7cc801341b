"""Help text for every job config field, shown under its input in the launch form.

A field's help is the comment written beside it in its config dataclass (`k: int = 4  # answers per
prompt`), so the code stays the one place that says what a knob does; fields shared by many
trainers and left uncommented there get the common wording below. `tests/training/test_config_help.py`
fails when a field has neither, so a new field cannot reach the form unexplained.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import re
import sys
import threading
import tokenize

COMMON_HELP = {
    "arch": "model architecture to build (gpt2 or llama)",
    "batch_size": "examples per optimizer step (per process)",
    "min_frequency": "a byte pair enters the vocabulary only if seen this often",
    "n_layer": "transformer layers",
    "n_head": "attention heads per layer",
    "epochs": "passes over the training data",
    "max_steps": "stop after this many optimizer steps (0: run the epochs)",
    "learning_rate": "AdamW step size",
    "weight_decay": "AdamW weight decay",
    "warmup_steps": "steps of linear learning-rate warm-up",
    "max_grad_norm": "gradients are clipped to this norm",
    "max_length": "longer examples are truncated to this many tokens",
    "eval_fraction": "share of the data held out for evaluation",
    "seed": "random seed (same seed, same data: same result)",
    "log_every": "write metrics every this many steps",
    "save_every": "save a checkpoint every this many steps (resume point)",
    "mixed_precision": "no, fp16 or bf16 (bf16 on a GPU)",
    "mini_batch_size": "rollouts per PPO update mini-batch",
    "ppo_epochs": "PPO update passes over each rollout batch",
    "max_new_tokens": "longest answer generated, in tokens",
    "temperature": "sampling temperature (1: the model's distribution)",
    "top_p": "nucleus sampling: keep the smallest set of tokens with this probability (1: all)",
    "top_k": "sample among the k likeliest tokens (0: all)",
    "do_sample": "sample answers (off: greedy decoding, every answer the same)",
    "max_prompt_length": "prompts are cut to their last this many tokens",
    "adaptive_kl": "adapt the KL coefficient towards target_kl (Ziegler et al.)",
    "kl_horizon": "steps over which the adaptive KL controller reacts",
    "cliprange_value": "value-function clip range",
    "vf_coef": "weight of the value loss",
    "ptx_batch_size": "pretraining (PPO-ptx) examples per update",
    "ptx_max_length": "pretraining examples are cut to this many tokens",
    "whiten_advantages": "normalise advantages to mean 0, variance 1 per batch",
    "split": "use the prompts of this split (sft, rm, ppo, eval; empty: all)",
    "priority": "ranking tasks with a higher priority are handed out first",
    "baseline": "model version id of the baseline (default: the older input model)",
    "labelers_required": "labelers who rank each task",
    "kl_coef": "β: weight of the per-token KL penalty to the SFT model",
    "cliprange": "ε: PPO clip range of the policy ratio",
    "lam": "λ of generalised advantage estimation",
    "bucket": "batch examples of similar length together (less padding)",
    "lora_alpha": "LoRA scaling α (the update is scaled by α / r)",
    "lora_dropout": "dropout on the LoRA adapters' input",
    "lora_target_modules": "modules that get LoRA adapters, comma-separated (empty: the model's default)",
}


def comments(cls) -> dict[str, str]:
    """`name -> comment` for the fields of a dataclass (and its dataclass bases) that carry one."""
    found: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if dataclasses.is_dataclass(klass):
            found.update(_field_comments(_class_source(klass)))
    return found


def _class_source(klass) -> str:
    """The class statement's lines, read from its module's file. Not `inspect.getsource`: that calls
    `ast.parse`, which on CPython 3.11 is not thread-safe ("AST constructor recursion depth mismatch"
    when the live server and a test thread parse at once)."""
    path = getattr(sys.modules.get(klass.__module__), "__file__", None)
    if not path:
        return ""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines(keepends=True)
    except OSError:
        return ""
    head = re.compile(rf"class {re.escape(klass.__name__)}\b")
    for i, line in enumerate(lines):
        if head.match(line):
            end = i + 1
            while end < len(lines) and (not lines[end].strip() or lines[end][0] in " \t"):
                end += 1
            return "".join(lines[i:end])
    return ""


def _field_comments(source: str) -> dict[str, str]:
    out: dict[str, str] = {}
    name = None
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.NEWLINE or tok.type == tokenize.NL:
            name = None
        elif tok.type == tokenize.NAME and name is None and tok.start[1] == 4:
            name = tok.string  # a field line starts at the class body's indentation
        elif tok.type == tokenize.COMMENT and name is not None:
            out[name] = tok.string.lstrip("#").strip()
    return out


_lock = threading.Lock()


def field_help(cls) -> dict[str, str]:
    """`_field_help`, computed once per class: the source doesn't change while the process runs."""
    with _lock:
        return dict(_field_help(cls))


@functools.cache
def _field_help(cls) -> dict[str, str]:
    """Help for each field of a config dataclass: its own comment, unless that is a terse note for the
    code's reader ("β", "0: off") and a common wording exists."""
    own = comments(cls)
    out = {}
    for f in dataclasses.fields(cls):
        text = own.get(f.name, "")
        if len(text.split()) < 3 and f.name in COMMON_HELP:
            text = COMMON_HELP[f.name]
        out[f.name] = text
    return out
