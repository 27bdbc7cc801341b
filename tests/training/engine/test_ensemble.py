"""The reward-model ensemble (bootstrap heads on one backbone): its spread is larger on answers unlike the
training data than on the answers it was trained on, and its saved folder is also a plain reward model
scoring the ensemble's mean."""

import random
import statistics

import pytest
import torch

from tests.training.engine.synthetic import BAD, GOOD, TRAIN_NOUNS, answer_for, prompt_for, rankings
from training.engine.ensemble import EnsembleConfig, bootstrap_counts, load_ensemble, train_ensemble
from training.engine.reward import load_reward_model

SEEN = rankings(TRAIN_NOUNS[:8], k=4, n_per_noun=4)


@pytest.fixture(scope="module")
def ensemble(tiny_model, tmp_path_factory):
    out = tmp_path_factory.mktemp("ensemble")
    result = train_ensemble(tiny_model, SEEN, out, EnsembleConfig(heads=5, epochs=10, batch_size=8))
    assert not result.stopped and result.steps == 40
    return out


def mean_uncertainty(model, groups):
    return statistics.mean(model.score(prompt, answers)["uncertainty"] for prompt, answers in groups)


@pytest.mark.slow
def test_spread_is_larger_on_answers_unlike_the_training_data(ensemble):
    model = load_ensemble(ensemble)
    rng = random.Random(0)
    seen = [(r["prompt"], r["responses"]) for r in SEEN[:16]]
    gibberish = [(prompt, ["".join(rng.choice("qxzvkj#@%&") for _ in range(rng.randint(8, 30))) for _ in range(4)])
                 for prompt, _ in seen]
    new_words = [(prompt_for(n), [answer_for(n, rng.choice(["blue", "fast", "wet", "old"])) for _ in range(4)])
                 for n in TRAIN_NOUNS[:16]]
    on_seen, on_gibberish, on_new_words = (mean_uncertainty(model, g) for g in (seen, gibberish, new_words))
    assert on_gibberish > 3 * on_seen
    assert on_new_words > on_seen


def test_the_saved_ensemble_is_a_reward_model_scoring_the_heads_mean(ensemble):
    model, plain = load_ensemble(ensemble), load_reward_model(ensemble)
    prompt = prompt_for("apple")
    answers = [answer_for("apple", a) for a in GOOD[:2] + BAD[:2]]
    scored = model.score(prompt, answers)
    assert plain.score([(prompt, a) for a in answers]) == pytest.approx(scored["mean"], abs=1e-5)
    assert len(scored["spread"]) == 4 and all(s >= 0 for s in scored["spread"])


def test_each_head_sees_its_own_bootstrap_resample():
    counts = bootstrap_counts(2000, 3, seed=0)
    assert counts.mean().item() == pytest.approx(1.0, abs=0.05)  # Poisson(1): a resample of the same size
    assert (counts == 0).float().mean().item() == pytest.approx(torch.exp(torch.tensor(-1.0)).item(), abs=0.03)
    assert not torch.equal(counts[0], counts[1])


@pytest.mark.parametrize("bad", [{"heads": 1}, {"heads": True}, {"epochs": 0}, {"head_learning_rate": float("nan")}])
def test_bad_settings_are_refused(bad):
    with pytest.raises(ValueError):
        EnsembleConfig(**bad)
