from training.engine.config import ConfigError
from training.engine.sampling import SamplingConfig, response_mask, sample

import pytest
import torch

PROMPTS = [{"text": "Tell me about the bird.", "category": "generation"}, {"prompt": "Tell me about the ship."},
           {"prompt": [{"role": "user", "content": "Tell me about the song."}]}]


def test_k_answers_per_prompt_reproducible_with_seed(sft_model, tmp_path):
    cfg = SamplingConfig(k=4, max_new_tokens=10, batch_size=2, seed=7)
    a = sample(sft_model, PROMPTS, tmp_path / "a.jsonl", cfg)
    b = sample(sft_model, PROMPTS, None, cfg)
    c = sample(sft_model, PROMPTS, None, SamplingConfig(k=4, max_new_tokens=10, batch_size=2, seed=8))
    assert [r["responses"] for r in a.records] == [r["responses"] for r in b.records]
    assert [r["responses"] for r in a.records] != [r["responses"] for r in c.records]
    assert all(len(r["responses"]) == 4 == len(r["response_tokens"]) for r in a.records)
    assert a.records[0]["category"] == "generation" and a.records[2]["prompt"][0]["role"] == "user"
    assert all(1 <= n <= 10 for r in a.records for n in r["response_tokens"])
    assert (tmp_path / "a.jsonl").read_text().count("\n") == 3


def test_greedy_is_deterministic_and_identical_across_k(sft_model):
    cfg = SamplingConfig(k=3, max_new_tokens=10, do_sample=False)
    a = sample(sft_model, PROMPTS, None, cfg)
    b = sample(sft_model, PROMPTS, None, SamplingConfig(k=3, max_new_tokens=10, do_sample=False, seed=99))
    assert [r["responses"] for r in a.records] == [r["responses"] for r in b.records]
    assert all(len(set(r["responses"])) == 1 for r in a.records)


def test_response_mask_stops_after_first_eos():
    eos = 0
    resp = torch.tensor([[5, 6, eos, eos, eos], [5, 6, 7, 8, 9], [eos, 3, eos, 4, 4]])
    assert response_mask(resp, eos).tolist() == [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]]


def test_sampling_config_validation_names_field():
    with pytest.raises(ConfigError) as e:
        SamplingConfig(top_p=0.0)
    assert e.value.field == "top_p"


def test_generation_uses_only_the_given_config_not_the_checkpoints(sft_model, tmp_path):
    """A checkpoint's generation_config (here a huge repetition penalty) must not change what we sample."""
    from transformers import AutoModelForCausalLM

    from training.engine.device import load_tokenizer

    model = AutoModelForCausalLM.from_pretrained(str(sft_model))
    model.generation_config.repetition_penalty = 50.0
    model.generation_config.no_repeat_ngram_size = 1
    model.save_pretrained(str(tmp_path / "odd"))
    load_tokenizer(sft_model).save_pretrained(str(tmp_path / "odd"))
    cfg = SamplingConfig(k=3, max_new_tokens=10, seed=3)
    plain, odd = sample(sft_model, PROMPTS, None, cfg), sample(tmp_path / "odd", PROMPTS, None, cfg)
    assert [r["responses"] for r in plain.records] == [r["responses"] for r in odd.records]
