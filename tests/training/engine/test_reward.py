import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from training.engine.data import encode_prompt_answer, pad, to_ranking
from training.engine.reward import (RMConfig, collate_rankings, encode_ranking, kwise_loss, last_token_index,
                                    load_reward_model, prefix_reuse_rewards, train_reward_model)


def count_sequences(rm):
    """Forward hook on the backbone counting sequences encoded."""
    seen = {"sequences": 0, "calls": 0}

    def hook(module, args, kwargs):
        seen["sequences"] += kwargs["input_ids"].shape[0]
        seen["calls"] += 1

    rm.backbone.register_forward_pre_hook(hook, with_kwargs=True)
    return seen


def test_kwise_loss_equals_pairwise_mean_with_k_forwards(sft_model):
    rm = load_reward_model(sft_model)
    tok = rm.tokenizer
    records = [
        {"prompt": "Tell me about the bird.", "responses": ["The bird is good.", "The bird is bad.", "The bird is sad.",
                                                             "The bird is nice."], "ranks": [1, 3, 3, 2]},  # a tie
        {"prompt": "Tell me about the road.", "chosen": "The road is great.", "rejected": "The road is poor."},
        {"prompt": [{"role": "user", "content": "Tell me about the cake."}],
         "responses": [[{"role": "assistant", "content": f"The cake is {a}."}] for a in
                       ["good", "bad", "great", "nice", "ugly", "poor"]], "ranks": [1, 4, 2, 3, 5, 6]},
    ]
    items = [encode_ranking(tok, to_ranking(r), 64) for r in records]
    assert [len(i["pairs"]) for i in items] == [5, 1, 15]  # C(4,2)-1 tie, C(2,2), C(6,2)
    seen = count_sequences(rm)
    batch = collate_rankings(items, tok.pad_token_id)
    rewards = rm(batch["input_ids"], batch["attention_mask"])
    loss = kwise_loss(rewards, batch["w"], batch["l"], batch["pair_ranking"], batch["n_rankings"])
    assert seen == {"sequences": 4 + 2 + 6, "calls": 1}  # each answer once: K forwards, not 2·C(K,2)

    # pair by pair, the TRL way: chosen and rejected each encoded separately
    per_ranking = []
    for item in items:
        losses = []
        for w, l in item["pairs"]:
            rw = rm(torch.tensor([item["seqs"][w]]), torch.ones(1, len(item["seqs"][w]), dtype=torch.long))
            rl = rm(torch.tensor([item["seqs"][l]]), torch.ones(1, len(item["seqs"][l]), dtype=torch.long))
            losses.append(-F.logsigmoid(rw - rl).item())
        per_ranking.append(sum(losses) / len(losses))
    assert seen["sequences"] == 12 + 2 * (5 + 1 + 15)
    assert loss.item() == pytest.approx(sum(per_ranking) / len(per_ranking), abs=1e-5)


def test_reward_read_at_last_real_token_when_pad_equals_eos(sft_model):
    rm = load_reward_model(sft_model)
    tok = rm.tokenizer
    eos = tok.eos_token_id
    short, _ = encode_prompt_answer(tok, "Tell me about the bird.", "The bird is good.", 64)
    long, _ = encode_prompt_answer(tok, "Tell me about the bird.", "The bird is good. The bird is nice.", 64)
    assert short[-1] == eos  # the answer itself ends with eos, and pad is eos too
    batch = pad([short, long], eos, side="right")
    mask = pad([[1] * len(short), [1] * len(long)], 0)
    assert last_token_index(mask).tolist() == [len(short) - 1, len(long) - 1]
    batched = rm(batch, mask)
    alone = rm(torch.tensor([short]), torch.ones(1, len(short), dtype=torch.long))
    assert batched[0].item() == pytest.approx(alone.item(), abs=1e-5)
    left = pad([short, long], eos, side="left")
    left_mask = pad([[1] * len(short), [1] * len(long)], 0, side="left")
    assert rm(left, left_mask)[0].item() == pytest.approx(alone.item(), abs=1e-4)


def test_reward_model_learns_synthetic_preference(synthetic_rm):
    path, result = synthetic_rm
    print(f"synthetic RM held-out: pair acc {result.metrics['eval_pair_accuracy']:.3f}, "
          f"ranking acc {result.metrics['eval_ranking_accuracy']:.3f}")
    assert result.metrics["eval_pair_accuracy"] > 0.9
    assert result.metrics["truncation_truncated"] == 0
    rm = load_reward_model(path)
    good, bad = rm.score([("Tell me about the song.", "The song is great."), ("Tell me about the song.", "The song is ugly.")])
    assert good > bad
    # normalised: demonstrations (good answers) average about 0
    demo = rm.score([("Tell me about the apple.", "The apple is nice."), ("Tell me about the tree.", "The tree is good.")])
    assert abs(sum(demo) / 2) < 2.0


def test_prefix_reuse_gives_the_same_rewards(sft_model):
    rm = load_reward_model(sft_model)
    tok = rm.tokenizer
    items = [encode_ranking(tok, to_ranking({"prompt": "Tell me about the fish.",
                                             "responses": ["The fish is good.", "The fish is very very bad.", "The fish."],
                                             "ranks": [1, 2, 3]}), 64)]
    batch = collate_rankings(items, tok.pad_token_id)
    full = rm(batch["input_ids"], batch["attention_mask"])
    reused = prefix_reuse_rewards(rm, tok, items)
    assert torch.allclose(full, reused, atol=1e-4)


@pytest.mark.slow
def test_reward_model_beats_chance_on_hh_rlhf(tmp_path):
    """A tiny model bootstrapped on HH text, RM trained on a small subset; held-out accuracy vs 50%."""
    from training.engine.bootstrap import BootstrapConfig, bootstrap
    from training.engine.data import read_jsonl

    root = Path(__file__).resolve().parents[3] / "data" / "hh-rlhf"
    train = read_jsonl(root / "train.jsonl.gz")[:1500]
    test = read_jsonl(root / "test.jsonl.gz")[:400]
    bootstrap(tmp_path / "base", texts=[r["chosen"] for r in train[:600]],
              config=BootstrapConfig(vocab_size=1024, n_embd=64, n_head=4, n_layer=2, max_steps=150, block_size=96,
                                     context_length=256))
    result = train_reward_model(tmp_path / "base", train, tmp_path / "rm",
                                RMConfig(epochs=1, batch_size=16, learning_rate=1e-3, max_length=192, log_every=20),
                                eval_data=test)
    acc = result.metrics["eval_pair_accuracy"]
    pairs = [to_ranking(r) for r in test]
    longer = sum(len(p.responses[0]) > len(p.responses[1]) for p in pairs) / len(pairs)
    print(f"HH-RLHF held-out pair accuracy {acc:.3f} on {result.metrics['eval_pairs']} pairs "
          f"(majority/chance baseline 0.5; 'longer answer wins' {longer:.3f}); "
          f"truncated {result.metrics['truncation_truncated']}")
    assert result.metrics["truncation_truncated"] > 0  # long dialogues are truncated and counted, not dropped
    assert acc > 0.5


def test_ties_give_no_pair_unless_tie_weight_is_set():
    rewards = torch.tensor([0.5, 0.5, -1.0])
    w, l, pr = torch.tensor([0, 1]), torch.tensor([2, 2]), torch.tensor([0, 0])
    ties = (torch.tensor([0]), torch.tensor([1]), torch.tensor([0]))
    dropped = kwise_loss(rewards, w, l, pr, 1, ties, tie_weight=0.0)
    assert dropped.item() == pytest.approx(-F.logsigmoid(torch.tensor(1.5)).item())
    with_ties = kwise_loss(rewards, w, l, pr, 1, ties, tie_weight=1.0)
    # equal rewards: the tie term is log 2; P = 2 pairs + 1 tie
    assert with_ties.item() == pytest.approx((2 * dropped.item() + math.log(2)) / 3)


def test_score_truncates_at_the_models_context_length(sft_model):
    rm = load_reward_model(sft_model)
    context = rm.backbone.config.n_positions
    assert rm.max_length == context
    long_answer = " ".join(["The bird is good."] * context)  # far more tokens than position embeddings
    scores = rm.score([("Tell me about the bird.", long_answer), "The bird is good. " * context])
    assert len(scores) == 2 and all(math.isfinite(s) for s in scores)
