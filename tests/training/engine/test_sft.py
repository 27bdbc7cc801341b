import json

import torch

from training.engine.data import render_prompt
from training.engine.device import load_causal_lm, load_tokenizer
from training.engine.sft import SFTConfig, train_sft


def test_sft_loss_falls_and_memorises_a_demonstration(tiny_model, tmp_path):
    demos = [{"prompt": "Tell me about the bird.", "completion": "The bird is lovely."},
             {"prompt": [{"role": "user", "content": "Tell me about the ship."}],
              "completion": [{"role": "assistant", "content": "The ship is ugly."}]}] * 8
    held = [{"prompt": "Tell me about the bird.", "completion": "The bird is lovely."}]
    result = train_sft(tiny_model, demos, tmp_path / "sft", SFTConfig(epochs=25, batch_size=4, learning_rate=5e-3,
                                                                       log_every=2), eval_data=held)
    lines = [json.loads(line) for line in (tmp_path / "sft" / "metrics.jsonl").read_text().splitlines()]
    losses = [line["loss"] for line in lines if "loss" in line and not line.get("final")]
    assert losses[-1] < losses[0] / 2
    assert result.metrics["eval_loss"] < 0.3
    assert not result.stopped and result.steps == result.total_steps == 100

    tok, model = load_tokenizer(tmp_path / "sft"), load_causal_lm(tmp_path / "sft")
    ids = tok(render_prompt(tok, "Tell me about the bird."), return_tensors="pt", add_special_tokens=False)
    out = model.generate(**ids, max_new_tokens=16, do_sample=False, pad_token_id=tok.pad_token_id)
    answer = tok.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)
    assert answer.strip() == "The bird is lovely."


def test_sft_masks_prompt_tokens():
    from training.engine.bootstrap import train_tokenizer
    from training.engine.data import sft_example

    tok = train_tokenizer(["User: hello there\nAssistant: general kenobi"] * 5, vocab_size=300)
    ex = sft_example(tok, {"prompt": "hello there", "completion": "general kenobi"}, max_length=64)
    n_prompt = len(tok(render_prompt(tok, "hello there"), add_special_tokens=False)["input_ids"])
    assert ex["labels"][:n_prompt] == [-100] * n_prompt
    assert ex["labels"][n_prompt:] == ex["input_ids"][n_prompt:]
    assert ex["input_ids"][-1] == tok.eos_token_id
    assert torch.tensor(ex["input_ids"]).numel() == len(ex["labels"])
