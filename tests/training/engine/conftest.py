"""Tiny fixtures for engine tests: a bootstrapped tokenizer+model, SFT model and RM (once per session)."""

import pytest
import torch

from tests.training.engine.synthetic import GOOD, HELD_OUT_NOUNS, NOUNS, TRAIN_NOUNS, corpus, demonstrations, rankings

torch.set_num_threads(1)  # tiny models: one thread is much faster on a shared 2-core box


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory):
    """A bootstrapped tiny GPT-2 (HF dir) that knows the synthetic world's words."""
    from training.engine.bootstrap import BootstrapConfig, bootstrap

    out = tmp_path_factory.mktemp("tiny-base")
    bootstrap(out, texts=corpus(), config=BootstrapConfig(vocab_size=400, n_embd=64, n_head=4, n_layer=2,
                                                           max_steps=120, batch_size=16, block_size=48,
                                                           learning_rate=3e-3, log_every=60))
    return out


@pytest.fixture(scope="session")
def sft_model(tiny_model, tmp_path_factory):
    """The tiny model fine-tuned on demonstrations with mixed good/bad adjectives (the PPO starting point)."""
    from training.engine.sft import SFTConfig, train_sft

    out = tmp_path_factory.mktemp("tiny-sft")
    train_sft(tiny_model, demonstrations(NOUNS), out, SFTConfig(epochs=2, batch_size=8, learning_rate=2e-3,
                                                                 eval_fraction=0.0, log_every=10))
    return out


@pytest.fixture(scope="session")
def synthetic_rm(sft_model, tmp_path_factory):
    """A reward model trained on the good/bad rule (pairwise held-out accuracy is checked in test_reward)."""
    from training.engine.reward import RMConfig, train_reward_model

    out = tmp_path_factory.mktemp("tiny-rm")
    result = train_reward_model(sft_model, rankings(TRAIN_NOUNS, k=4, n_per_noun=6), out,
                                RMConfig(epochs=2, batch_size=8, learning_rate=2e-3, log_every=10),
                                eval_data=rankings(HELD_OUT_NOUNS, k=4, seed=1, n_per_noun=6),
                                demonstrations=demonstrations(TRAIN_NOUNS, adjectives=GOOD))
    return out, result
