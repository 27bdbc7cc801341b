"""Per-ranking weights (labeler weighting from gold) in the reward-model loss: Σ w_r·loss_r / Σ w_r, so a
ranking weighted 0 contributes nothing, in the formula and in a real training step."""

import pytest
import torch
from safetensors.torch import load_file

from training.engine.data import DataError
from training.engine.reward import (HEAD_FILE, RMConfig, collate_rankings, encode_weighted, kwise_loss,
                                    load_reward_model, train_reward_model)

GOOD = [
    {"prompt": "Tell me about the bird.", "responses": ["The bird is good.", "The bird is bad.", "The bird is sad."],
     "ranks": [1, 2, 3]},
    {"prompt": "Tell me about the road.", "chosen": "The road is great.", "rejected": "The road is poor."},
]
NOISE = [  # a labeler at chance: the opposite preferences
    {"prompt": "Tell me about the cake.", "responses": ["The cake is ugly.", "The cake is nice.", "The cake is bad.",
                                                        "The cake is good."], "ranks": [1, 2, 2, 4]},
    {"prompt": "Tell me about the road.", "chosen": "The road is poor.", "rejected": "The road is great."},
]


def per_ranking_losses(rm, records):
    items = [encode_weighted(rm.tokenizer, r, 64) for r in records]
    alone = []
    for item in items:
        batch = collate_rankings([item], rm.tokenizer.pad_token_id)
        rewards = rm(batch["input_ids"], batch["attention_mask"])
        alone.append(kwise_loss(rewards, batch["w"], batch["l"], batch["pair_ranking"], 1).item())
    return items, alone


@torch.no_grad()
def test_the_weighted_loss_is_the_weighted_mean_of_the_ranking_losses(tiny_model):
    rm = load_reward_model(tiny_model)
    records = [{**GOOD[0], "weight": 2.0}, {**NOISE[0], "weight": 0.0}, {**GOOD[1], "weight": 0.5}]
    items, alone = per_ranking_losses(rm, records)
    batch = collate_rankings(items, rm.tokenizer.pad_token_id)
    rewards = rm(batch["input_ids"], batch["attention_mask"])
    args = (rewards, batch["w"], batch["l"], batch["pair_ranking"], batch["n_rankings"])
    assert batch["weights"].tolist() == [2.0, 0.0, 0.5]
    weighted = kwise_loss(*args, weights=batch["weights"]).item()
    assert weighted == pytest.approx((2.0 * alone[0] + 0.5 * alone[2]) / 2.5, abs=1e-6)
    assert kwise_loss(*args).item() == pytest.approx(sum(alone) / 3, abs=1e-6)  # no weights: the plain mean
    assert kwise_loss(*args, weights=torch.ones(3)).item() == pytest.approx(sum(alone) / 3, abs=1e-6)
    assert kwise_loss(*args, weights=torch.zeros(3)).item() == 0.0


def train_once(model, records, out):
    train_reward_model(model, records, out, RMConfig(max_steps=1, batch_size=16, learning_rate=1e-2, eval_fraction=0.0,
                                                     log_every=1, save_every=1000, seed=3))
    return load_file(str(out / HEAD_FILE))["weight"]


@pytest.mark.slow
def test_a_labeler_weighted_zero_changes_nothing_in_training(tiny_model, tmp_path):
    clean = train_once(tiny_model, GOOD, tmp_path / "clean")
    with_zero = train_once(tiny_model, GOOD + [{**r, "weight": 0} for r in NOISE], tmp_path / "zero")
    with_noise = train_once(tiny_model, GOOD + NOISE, tmp_path / "noise")
    assert torch.allclose(with_zero, clean, atol=1e-6)
    assert not torch.allclose(with_noise, clean, atol=1e-4)  # the same lines, counted, do move the model


@pytest.mark.parametrize("weight", [-1, "heavy", float("inf"), True])
def test_a_bad_weight_is_a_data_error_naming_the_line(tiny_model, tmp_path, weight):
    with pytest.raises(DataError) as caught:
        train_once(tiny_model, GOOD + [{**NOISE[1], "weight": weight}], tmp_path / "bad")
    assert caught.value.line == 3 and "weight" in caught.value.message
