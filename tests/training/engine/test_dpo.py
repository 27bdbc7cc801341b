"""K-wise DPO and listwise (Plackett–Luce) preference optimisation (training/engine/dpo.py)."""

import itertools
import json
import math

import pytest
import torch
import torch.nn.functional as F

from tests.training.engine.synthetic import HELD_OUT_NOUNS, TRAIN_NOUNS, rankings
from tests.support.engine import assert_same_weights, metrics_lines, stop_after
from training.engine.config import ConfigError, from_dict
from training.engine.data import to_ranking
from training.engine.device import load_causal_lm, load_tokenizer
from training.engine.dpo import (REFERENCE_CACHE, DPOConfig, encode_ranking, listwise_loss, pairwise_loss,
                                 policy_logprobs, ranking_listwise_loss, reference_logprobs, train_dpo)
from training.engine.reward import collate_rankings

RECORDS = [
    {"prompt": "Tell me about the bird.", "responses": ["The bird is good.", "The bird is bad.", "The bird is sad.",
                                                         "The bird is nice."], "ranks": [1, 3, 3, 2]},  # a tie
    {"prompt": "Tell me about the road.", "chosen": "The road is great.", "rejected": "The road is poor."},
    {"prompt": [{"role": "user", "content": "Tell me about the cake."}],
     "responses": [[{"role": "assistant", "content": f"The cake is {a}."}] for a in
                   ["good", "bad", "great", "nice", "ugly", "poor"]], "ranks": [1, 4, 2, 3, 5, 6]},
]


def count_sequences(model):
    """Forward hook on the policy counting the sequences it encodes."""
    seen = {"sequences": 0, "calls": 0}

    def hook(module, args, kwargs):
        seen["sequences"] += kwargs["input_ids"].shape[0]
        seen["calls"] += 1

    model.register_forward_pre_hook(hook, with_kwargs=True)
    return seen


def alone_logprob(model, seq, n_prompt):
    """log π(y|x) of one sequence on its own: Σ over answer tokens of log softmax(logits)[next token]."""
    ids = torch.tensor([seq])
    logp = F.log_softmax(model(input_ids=ids).logits[0, :-1].float(), -1)
    return sum(logp[t - 1, seq[t]].item() for t in range(n_prompt, len(seq)))


@pytest.fixture(scope="module")
def encoded(sft_model, tiny_model):
    """The three rankings, with reference log-probs from another model (the base) so π ≠ π_ref."""
    tok = load_tokenizer(sft_model)
    items = [encode_ranking(tok, to_ranking(r), 64) for r in RECORDS]
    ref_logps = reference_logprobs(load_causal_lm(tiny_model), tok, items, 2, "cpu")
    return tok, items, ref_logps


def test_pairwise_loss_is_the_dpo_formula_per_pair_with_k_forwards(sft_model, encoded):
    tok, items, ref_logps = encoded
    policy = load_causal_lm(sft_model).eval()
    beta = 2.0
    assert [len(i["pairs"]) for i in items] == [5, 1, 15]  # C(4,2)-1 tie, C(2,2), C(6,2)
    seen = count_sequences(policy)
    batch = collate_rankings(items, tok.pad_token_id)
    logps = policy_logprobs(policy, tok, items, batch, "cpu")
    loss = pairwise_loss(beta * (logps - torch.cat(ref_logps)), batch)
    assert seen == {"sequences": 4 + 2 + 6, "calls": 1}  # each answer once: K forwards, not 2·C(K,2)

    # the formula, pair by pair, each sequence encoded on its own (as a pairwise trainer does)
    per_ranking = []
    for item, ref in zip(items, ref_logps):
        lp = [alone_logprob(policy, s, n) for s, n in zip(item["seqs"], item["n_prompt"])]
        per_pair = [-F.logsigmoid(torch.tensor(beta * ((lp[w] - ref[w].item()) - (lp[l] - ref[l].item())))).item()
                    for w, l in item["pairs"]]
        per_ranking.append(sum(per_pair) / len(per_pair))
    assert loss.item() == pytest.approx(sum(per_ranking) / len(per_ranking), abs=1e-5)
    h = beta * (logps - torch.cat(ref_logps))
    assert (h[batch["w"]] - h[batch["l"]]).abs().max() > 0.1  # π ≠ π_ref: not the trivial log 2 of equal ratios


def test_prefix_reuse_gives_the_same_log_probs_with_the_prompt_encoded_once(sft_model, encoded):
    tok, items, _ = encoded
    policy = load_causal_lm(sft_model).eval()
    batch = collate_rankings(items, tok.pad_token_id)
    full = policy_logprobs(policy, tok, items, batch, "cpu")
    seen = count_sequences(policy)
    reused = policy_logprobs(policy, tok, items, batch, "cpu", prefix_reuse=True)
    assert seen == {"sequences": 3 + 12, "calls": 6}  # per ranking: one prompt row, then its K answer rows
    assert reused.tolist() == pytest.approx(full.tolist(), abs=1e-4)


def brute_force_listwise(h, ranks):
    """−log of the summed Plackett–Luce probability of every ordering consistent with the ranks."""
    K, total = len(ranks), 0.0
    for order in itertools.permutations(range(K)):
        if any(ranks[order[a]] > ranks[order[b]] for a in range(K) for b in range(a + 1, K)):
            continue  # a worse answer placed before a better one
        p = 1.0
        for k in range(K):
            rest = [math.exp(h[order[j]]) for j in range(k, K)]
            p *= math.exp(h[order[k]]) / sum(rest)
        total += p
    return -math.log(total)


@pytest.mark.parametrize("ranks", [[1, 2, 3, 4], [2, 1, 4, 3], [1, 2, 2, 4], [1, 1, 3, 3], [1, 2, 2, 2],
                                   [1, 1, 1, 4], [3, 1, 3, 1, 5], [1, 2, 2, 2, 5], [1, 1, 1, 1]])
def test_listwise_loss_equals_brute_force_enumeration(ranks):
    h = torch.randn(len(ranks), generator=torch.Generator().manual_seed(len(ranks) + sum(ranks))) * 2
    assert ranking_listwise_loss(h, ranks).item() == pytest.approx(brute_force_listwise(h.tolist(), ranks), abs=1e-5)


def test_listwise_without_ties_is_the_dpo_appendix_formula_and_batches_by_mean():
    h = torch.tensor([0.3, -1.2, 2.0, 0.5])
    ranks = [2, 4, 1, 3]  # rank order: answers 2, 0, 3, 1
    ordered = h[[2, 0, 3, 1]]
    formula = -sum(ordered[k] - torch.logsumexp(ordered[k:], 0) for k in range(4))
    assert ranking_listwise_loss(h, ranks).item() == pytest.approx(formula.item(), abs=1e-6)
    items = [{"seqs": [[0]] * 4, "ranks": ranks}, {"seqs": [[0]] * 2, "ranks": [1, 1]},  # all tied: left out
             {"seqs": [[0]] * 2, "ranks": [2, 1]}]
    both = torch.cat([h, torch.tensor([5.0, -5.0, 0.1, 0.7])])
    expected = (formula + (-(0.7 - torch.logsumexp(torch.tensor([0.7, 0.1]), 0)))) / 2
    assert listwise_loss(both, items).item() == pytest.approx(expected.item(), abs=1e-6)


def test_listwise_gradient_flows_through_tie_groups():
    h = torch.tensor([0.1, 0.2, -0.3, 0.0], requires_grad=True)
    ranking_listwise_loss(h, [1, 2, 2, 4]).backward()
    assert torch.isfinite(h.grad).all() and h.grad[0] < 0 and h.grad[3] > 0  # the best goes up, the worst down
    assert h.grad.sum().item() == pytest.approx(0.0, abs=1e-6)  # shifting every h alike changes nothing


SMALL = dict(epochs=3, batch_size=8, learning_rate=2e-3, beta=0.5, log_every=10, eval_max_new_tokens=8)


@pytest.mark.parametrize("loss", ["pairwise", "listwise"])
def test_dpo_learns_the_hidden_rule_on_held_out_rankings(sft_model, tmp_path, loss):
    train = rankings(TRAIN_NOUNS, k=4, n_per_noun=4)
    held = rankings(HELD_OUT_NOUNS, k=4, seed=1, n_per_noun=6)
    result = train_dpo(sft_model, train, tmp_path / loss, DPOConfig(loss=loss, **SMALL), eval_data=held)
    m = result.metrics
    print(f"{loss}: held-out implicit-reward accuracy {m['eval_reward_accuracy']:.3f} (0 at the start, where "
          f"π = π_ref), margin {m['eval_reward_margin']:.3f}, KL {m['eval_kl']:.2f}, length {m['eval_answer_length']:.1f}")
    assert m["eval_reward_accuracy"] > 0.85 and m["eval_reward_margin"] > 0
    assert m["eval_pairs"] > 50
    for key in ("loss", "reward_accuracy", "reward_margin", "logratio", "answer_length", "eval_kl"):
        assert key in m
    assert load_causal_lm(result.output_dir) is not None and (tmp_path / loss / REFERENCE_CACHE).exists()


def test_dpo_resume_matches_uninterrupted_run(sft_model, tmp_path):
    data = rankings(TRAIN_NOUNS[:8], k=4, n_per_noun=4)
    cfg = DPOConfig(loss="listwise", batch_size=4, learning_rate=1e-3, max_steps=6, log_every=2, save_every=10,
                    eval_fraction=0.2, eval_max_new_tokens=0)
    full = train_dpo(sft_model, data, tmp_path / "full", cfg)
    part = train_dpo(sft_model, data, tmp_path / "part", cfg, should_stop=stop_after(3))
    assert part.stopped and part.steps == 3 and not (tmp_path / "part" / "model.safetensors").exists()
    resumed = train_dpo(sft_model, data, tmp_path / "part", cfg)
    assert not resumed.stopped and resumed.steps == full.steps == 6
    assert_same_weights(tmp_path / "full", tmp_path / "part")
    assert metrics_lines(tmp_path / "full") == metrics_lines(tmp_path / "part")


@pytest.mark.parametrize("fields, field", [({"beta": 0}, "beta"), ({"beta": -0.1}, "beta"),
                                           ({"loss": "hinge"}, "loss"), ({"beta": "high"}, "beta"),
                                           ({"batch_size": 0}, "batch_size"), ({"gamma": 1.0}, "gamma")])
def test_bad_configs_are_refused_naming_the_field(fields, field):
    with pytest.raises(ConfigError) as e:
        from_dict(DPOConfig, fields)
    assert e.value.field == field


def test_rankings_without_any_preference_are_refused(sft_model, tmp_path):
    tied = [{"prompt": "Tell me about the bird.", "responses": ["The bird is good.", "The bird is nice."],
             "ranks": [1, 1]}]
    with pytest.raises(ConfigError) as e:
        train_dpo(sft_model, tied, tmp_path / "out", DPOConfig(eval_fraction=0.0))
    assert e.value.field == "data"


def test_cli_trains_listwise_and_refuses_a_bad_beta(sft_model, tmp_path, capsys):
    from training.engine.__main__ import main
    from training.engine.data import write_jsonl

    write_jsonl(tmp_path / "rankings.jsonl", rankings(TRAIN_NOUNS[:4], k=4, n_per_noun=2))
    args = ["dpo", "--model", str(sft_model), "--data", str(tmp_path / "rankings.jsonl"), "--out", str(tmp_path / "out"),
            "--loss", "listwise", "--batch-size", "4", "--eval-fraction", "0", "--log-every", "1"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["steps"] == 2 and not out["stopped"] and "reward_accuracy" in out["metrics"]
    assert main(args + ["--beta", "0"]) == 2
    assert json.loads(capsys.readouterr().err.strip().splitlines()[-1])["field"] == "beta"


def test_lora_dpo_trains_adapters_only_and_saves_the_merged_policy(sft_model, tmp_path):
    from safetensors.torch import load_file

    data = rankings(TRAIN_NOUNS[:4], k=4, n_per_noun=2)
    cfg = DPOConfig(batch_size=4, learning_rate=1e-2, max_steps=2, eval_fraction=0.0, lora_r=4, log_every=1)
    result = train_dpo(sft_model, data, tmp_path / "lora", cfg)
    assert result.steps == 2 and (tmp_path / "lora" / "adapter").is_dir()
    before, after = load_file(str(sft_model / "model.safetensors")), load_file(str(tmp_path / "lora" / "model.safetensors"))
    changed = [k for k in before if not torch.equal(before[k], after[k])]
    assert changed and all("attn" in k for k in changed)  # only the adapted attention weights moved (merged)
