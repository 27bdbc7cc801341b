"""Bootstrap a small base model offline: byte-level BPE tokenizer + a tiny GPT-2/LLaMA pretrained on text.

The tokenizer gets ``<|endoftext|>`` (bos/eos) and ``<|pad|>`` and a chat template that renders
``User: ...\\nAssistant:`` + " answer" (the engine's plain format). The result is an ordinary Hugging Face
directory: ``AutoTokenizer.from_pretrained(dir)`` and ``AutoModelForCausalLM.from_pretrained(dir)``.
Pretraining is next-token prediction on random ``block_size`` windows of the concatenated texts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from .checkpoint import run_steps, seed_everything
from .config import ConfigError, TrainResult, check_choice, check_common, check_positive
from .parallel import current_lr, global_sum, scaled, shard
from .sft import token_nll_sum


@dataclass
class BootstrapConfig:
    arch: str = "gpt2"            # "gpt2" or "llama"
    vocab_size: int = 1024        # BPE vocabulary, special tokens included
    min_frequency: int = 2
    n_layer: int = 2
    n_embd: int = 96              # hidden size
    n_head: int = 4
    context_length: int = 256     # position embeddings
    block_size: int = 64          # pretraining window
    max_steps: int = 300
    batch_size: int = 16          # windows per optimizer step, split across processes
    learning_rate: float = 3e-3
    weight_decay: float = 0.0
    warmup_steps: int = 10
    max_grad_norm: float = 1.0
    seed: int = 0
    log_every: int = 50
    save_every: int = 200
    mixed_precision: str = "no"

    def __post_init__(self):
        check_common(self)
        check_choice("arch", self.arch, ("gpt2", "llama"))
        for name in ("vocab_size", "n_layer", "n_embd", "n_head", "context_length", "block_size", "min_frequency"):
            check_positive(name, getattr(self, name))
        if self.vocab_size < 300:
            raise ConfigError("vocab_size", "must be >= 300 (256 byte symbols + specials + merges)")
        if self.n_embd % self.n_head:
            raise ConfigError("n_head", "must divide n_embd")
        if self.block_size + 1 > self.context_length:
            raise ConfigError("block_size", "must be < context_length")


EOS, PAD = "<|endoftext|>", "<|pad|>"
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ message['role'] | capitalize }}: {{ message['content'] }}\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}Assistant:{% endif %}"
)


def train_tokenizer(texts: list[str], vocab_size: int = 1024, min_frequency: int = 2):
    """Byte-level BPE trained with `tokenizers`, wrapped as a PreTrainedTokenizerFast."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency, special_tokens=[EOS, PAD],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token=EOS, eos_token=EOS, pad_token=PAD)
    fast.chat_template = CHAT_TEMPLATE
    return fast


def build_model(config: BootstrapConfig, tokenizer):
    from transformers import AutoModelForCausalLM, GPT2Config, LlamaConfig

    ids = dict(bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
               pad_token_id=tokenizer.pad_token_id)
    if config.arch == "gpt2":
        cfg = GPT2Config(vocab_size=len(tokenizer), n_positions=config.context_length, n_embd=config.n_embd,
                         n_layer=config.n_layer, n_head=config.n_head, resid_pdrop=0.0, embd_pdrop=0.0,
                         attn_pdrop=0.0, **ids)
    else:
        cfg = LlamaConfig(vocab_size=len(tokenizer), hidden_size=config.n_embd, intermediate_size=4 * config.n_embd,
                          num_hidden_layers=config.n_layer, num_attention_heads=config.n_head,
                          num_key_value_heads=config.n_head, max_position_embeddings=config.context_length,
                          tie_word_embeddings=True, **ids)
    model = AutoModelForCausalLM.from_config(cfg)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return model


def read_texts(texts=None, text_files=None) -> list[str]:
    out = list(texts or [])
    for path in text_files or []:
        out.append(Path(path).read_text(encoding="utf-8"))
    if not out:
        raise ValueError("bootstrap needs texts or text_files")
    return out


def bootstrap(out_dir, texts=None, text_files=None, config: BootstrapConfig | None = None,
              on_progress=None, should_stop=None) -> TrainResult:
    """Train tokenizer + pretrain a tiny causal LM on the texts; save an HF directory in ``out_dir``."""
    from transformers import AutoTokenizer

    from .device import make_accelerator, make_optimizer

    config = config or BootstrapConfig()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    docs = read_texts(texts, text_files)
    seed_everything(config.seed)
    accelerator = make_accelerator(config.mixed_precision)

    if (out_dir / "tokenizer.json").exists():
        tokenizer = AutoTokenizer.from_pretrained(str(out_dir))
    else:
        tokenizer = train_tokenizer(docs, config.vocab_size, config.min_frequency)
        if accelerator.is_main_process:
            tokenizer.save_pretrained(str(out_dir))
    stream = []
    for doc in docs:
        stream += tokenizer(doc, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    stream = torch.tensor(stream, dtype=torch.long)
    if len(stream) <= config.block_size + 1:
        stream = stream.repeat((config.block_size + 2) // len(stream) + 1)

    model = build_model(config, tokenizer)
    optimizer, scheduler = make_optimizer(model.parameters(), config.learning_rate, config.weight_decay,
                                          config.warmup_steps, config.max_steps)
    model, optimizer, scheduler = accelerator.prepare(model, optimizer, scheduler)

    tokens = config.batch_size * (config.block_size - 1)  # predicted tokens in the GLOBAL batch

    def step_fn(step: int) -> dict:
        g = torch.Generator().manual_seed(config.seed * 1_000_003 + step)
        starts = torch.randint(0, len(stream) - config.block_size - 1, (config.batch_size,), generator=g)
        local, weight = shard(starts.tolist(), accelerator)  # the same windows, split across processes
        x = torch.stack([stream[s:s + config.block_size] for s in local]).to(accelerator.device)
        model.train()
        with accelerator.autocast():
            nll = token_nll_sum(model, {"input_ids": x, "attention_mask": torch.ones_like(x), "labels": x}) * weight
        accelerator.backward(scaled(nll, tokens, accelerator))
        accelerator.clip_grad_norm_(model.parameters(), config.max_grad_norm)
        lr = current_lr(optimizer)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        return {"loss": global_sum(nll.item(), accelerator).item() / tokens, "lr": lr}

    steps, metrics, stopped = run_steps(
        out_dir=out_dir, total_steps=config.max_steps, step_fn=step_fn,
        objects={"model": model, "optimizer": optimizer, "scheduler": scheduler},
        log_every=config.log_every, save_every=config.save_every, on_progress=on_progress,
        should_stop=should_stop, desc="bootstrap", accelerator=accelerator)
    if not stopped and accelerator.is_main_process:
        accelerator.unwrap_model(model).save_pretrained(str(out_dir))
        tokenizer.save_pretrained(str(out_dir))
    return TrainResult(str(out_dir), metrics, steps, config.max_steps, stopped)
