"""Sample K answers per prompt (the answers labelers then rank).

Each prompt is repeated K times inside ONE ``generate`` call (KV cache on), prompts left-padded. Greedy
(``do_sample=False``), temperature, top-p and top-k, and nothing else: the checkpoint's own
``generation_config`` (a repetition penalty, say) is set aside during the call, so the answers are drawn
from exactly the (tempered, truncated) softmax that PPO's ratio and KL assume. Reproducible: the RNG is seeded with ``seed + batch index``
before each call, so the same config gives the same answers. Answer tokens after the first eos are
masked (``response_mask``); records are ``{"prompt", "responses": [K], "response_tokens": [K]}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from .config import ConfigError, check_common, check_positive, check_range
from .data import PROMPTS, Truncation, encode_prompt, strip_answer, load_records, pad, prompt_of, write_jsonl
from .progress import progress


@dataclass
class SamplingConfig:
    k: int = 4                    # answers per prompt (InstructGPT: 4..9)
    max_new_tokens: int = 64
    do_sample: bool = True        # False: greedy
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0                # 0: off
    batch_size: int = 8           # prompts per generate call (each repeated k times)
    max_prompt_length: int = 512
    seed: int = 0
    mixed_precision: str = "no"

    def __post_init__(self):
        check_common(self)
        for name in ("k", "max_new_tokens", "max_prompt_length"):
            check_positive(name, getattr(self, name))
        check_positive("temperature", self.temperature)
        check_range("top_p", self.top_p, 0.0, 1.0, low_open=True)
        check_positive("top_k", self.top_k, allow_zero=True)


def generation_config(tokenizer, max_new_tokens: int, do_sample: bool = True, temperature: float = 1.0,
                      top_p: float = 1.0, top_k: int = 0):
    """Every knob that shapes the sampling distribution, stated (0 / 1.0: off)."""
    from transformers import GenerationConfig

    kwargs = dict(max_new_tokens=max_new_tokens, min_new_tokens=0, do_sample=do_sample, num_beams=1,
                  pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id, use_cache=True,
                  repetition_penalty=1.0, no_repeat_ngram_size=0, bad_words_ids=None, suppress_tokens=None,
                  begin_suppress_tokens=None, forced_bos_token_id=None, forced_eos_token_id=None)
    if do_sample:
        kwargs.update(temperature=temperature, top_p=top_p, top_k=top_k, typical_p=1.0, min_p=None,
                      epsilon_cutoff=0.0, eta_cutoff=0.0)
    return GenerationConfig(**kwargs)


@torch.no_grad()
def generate_explicit(model, input_ids, attention_mask, config):
    """``model.generate`` under ``config`` alone, in eval mode, with the checkpoint's generation config set aside."""
    from transformers import GenerationConfig

    base = model.get_base_model() if hasattr(model, "get_base_model") else model  # a peft model's inner model
    saved, was_training = base.generation_config, model.training
    base.generation_config = GenerationConfig(pad_token_id=config.pad_token_id, eos_token_id=config.eos_token_id)
    model.eval()
    try:
        return model.generate(input_ids=input_ids, attention_mask=attention_mask, generation_config=config)
    finally:
        base.generation_config = saved
        model.train(was_training)


def response_mask(response: torch.Tensor, eos_id: int) -> torch.Tensor:
    """1 up to and including the first eos, 0 after it."""
    is_eos = (response == eos_id).long()
    before = is_eos.cumsum(-1) - is_eos  # number of eos strictly before t
    return (before == 0).long()


@torch.no_grad()
def generate(model, tokenizer, prompt_ids: list[list[int]], k: int = 1, max_new_tokens: int = 64,
             do_sample: bool = True, temperature: float = 1.0, top_p: float = 1.0, top_k: int = 0) -> dict:
    """One generate call for all prompts × k. Returns tensors (rows grouped by prompt: p0×k, p1×k, ...)."""
    device = next(model.parameters()).device
    ids = pad(prompt_ids, tokenizer.pad_token_id, side="left").to(device)
    mask = pad([[1] * len(p) for p in prompt_ids], 0, side="left").to(device)
    ids, mask = ids.repeat_interleave(k, 0), mask.repeat_interleave(k, 0)
    seq = generate_explicit(model, ids, mask, generation_config(tokenizer, max_new_tokens, do_sample, temperature,
                                                               top_p, top_k))
    response = seq[:, ids.size(1):]
    rmask = response_mask(response, tokenizer.eos_token_id)
    return {"sequences": seq, "prompt_mask": mask, "response": response, "response_mask": rmask,
            "prompt_length": ids.size(1)}


def decode_responses(tokenizer, response: torch.Tensor, rmask: torch.Tensor) -> list[str]:
    return [strip_answer(tokenizer.decode(r[m.bool()].tolist(), skip_special_tokens=True))
            for r, m in zip(response, rmask)]


@dataclass
class SampleResult:
    records: list = field(default_factory=list)
    output_path: str | None = None
    metrics: dict = field(default_factory=dict)
    steps: int = 0
    total_steps: int = 0
    stopped: bool = False


def sample(model, prompts, out_path=None, config: SamplingConfig | None = None, on_progress=None,
           should_stop=None) -> SampleResult:
    """K answers for each prompt record ({"text"} or {"prompt"}); optionally write JSONL to ``out_path``."""
    from .device import load_causal_lm, load_tokenizer, make_accelerator

    config = config or SamplingConfig()
    accelerator = make_accelerator(config.mixed_precision)
    if isinstance(model, (str, Path)):
        tokenizer, lm = load_tokenizer(model), load_causal_lm(model)
    else:
        lm, tokenizer = model
    lm = lm.to(accelerator.device)
    records = load_records(prompts, PROMPTS)
    if not records:
        raise ConfigError("prompts", "no prompts to sample from")
    batches = [records[i:i + config.batch_size] for i in range(0, len(records), config.batch_size)]
    out, n_tokens, stopped, trunc = [], 0, False, Truncation()
    for b, batch in enumerate(progress(batches, desc="sample")):
        torch.manual_seed(config.seed + b)
        p_ids = [encode_prompt(tokenizer, prompt_of(r), config.max_prompt_length, trunc) for r in batch]
        with accelerator.autocast():
            g = generate(lm, tokenizer, p_ids, config.k, config.max_new_tokens, config.do_sample,
                         config.temperature, config.top_p, config.top_k)
        texts = decode_responses(tokenizer, g["response"], g["response_mask"])
        counts = g["response_mask"].sum(-1).tolist()
        for i, r in enumerate(batch):
            rec = {"prompt": prompt_of(r), "responses": texts[i * config.k:(i + 1) * config.k],
                   "response_tokens": counts[i * config.k:(i + 1) * config.k]}
            for key in ("id", "category", "split"):
                if key in r:
                    rec[key] = r[key]
            out.append(rec)
        n_tokens += sum(counts)
        if on_progress is not None:
            on_progress(b + 1, len(batches), {"answers": len(out) * config.k})
        if should_stop is not None and b + 1 < len(batches) and should_stop():
            stopped = True
            break
    metrics = {"prompts": len(out), "answers": len(out) * config.k,
               "mean_answer_tokens": n_tokens / max(len(out) * config.k, 1), "prompts_truncated": trunc.truncated}
    if out_path is not None and accelerator.is_main_process:
        write_jsonl(out_path, out)
    return SampleResult(out, str(out_path) if out_path else None, metrics, len(out), len(records), stopped)
