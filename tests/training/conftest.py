"""Fixtures of the training tests."""

import pytest

TEXTS = [f"User: Tell me about the {n}.\nAssistant: The {n} is {a}." for n in ("apple", "river", "stone", "cloud")
         for a in ("good", "bad", "nice")]


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    """A one-layer base model bootstrapped in seconds, built once per test module."""
    from training.engine.bootstrap import BootstrapConfig, bootstrap

    out = tmp_path_factory.mktemp("tiny-base")
    config = BootstrapConfig(vocab_size=300, n_layer=1, n_embd=32, n_head=2, context_length=64, block_size=16,
                             batch_size=4, max_steps=4, log_every=2, save_every=4)
    bootstrap(out, texts=TEXTS, config=config)
    return out
