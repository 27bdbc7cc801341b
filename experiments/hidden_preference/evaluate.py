"""Judging models by the hidden gold rule, InstructGPT-style.

- ``win_rate``: how often the gold rule prefers model A's answer to model B's for the same prompt
  (ties count half) — InstructGPT's "preferred over SFT" figure.
- ``rm_gold_accuracy``: how often the reward model orders two answers to a held-out prompt as the gold
  rule does (pairs the gold rule ties are left out).
- Both intervals are 95% bootstraps over prompts (training/intervals.py): the several answers or pairs
  of one prompt are not independent, so they are resampled together.
- ``policy_stats``: mean RM reward and KL(π‖π_SFT) of a policy's own samples (the engine's evaluator),
  ``demo_lm_loss``: language-model loss on held-out demonstration text.
"""

from __future__ import annotations

from statistics import mean

from training.intervals import clustered_rate

from . import gold


def answers_by_prompt(model_dir, prompts: list[dict], n: int, seed: int, max_new_tokens: int,
                      temperature: float = 1.0) -> list[list[str]]:
    """``n`` sampled answers from ``model_dir`` for each prompt (same seed for every model compared)."""
    from training.engine.sampling import SamplingConfig, sample

    config = SamplingConfig(k=n, max_new_tokens=max_new_tokens, temperature=temperature, batch_size=16, seed=seed)
    result = sample(str(model_dir), [{"text": p["text"]} for p in prompts], config=config)
    return [record["responses"] for record in result.records]


def win_rate(prompts: list[dict], answers_a: list[list[str]], answers_b: list[list[str]]) -> dict:
    """Gold preference of A over B, answer i of A against answer i of B for every prompt."""
    by_prompt = [[gold.prefer(p["text"], a, b) for a, b in zip(row_a, row_b)]
                 for p, row_a, row_b in zip(prompts, answers_a, answers_b)]
    outcomes = [o for row in by_prompt for o in row]
    summary = clustered_rate(by_prompt)
    if not outcomes:  # no answers: no information, the whole range
        summary.update(rate=0.0, ci_low=0.0, ci_high=1.0)
    return {"win_rate": summary["rate"], "ci_low": summary["ci_low"], "ci_high": summary["ci_high"],
            "n": summary["n"], "prompts": summary["prompts"], "wins": sum(o == 1.0 for o in outcomes),
            "ties": sum(o == 0.5 for o in outcomes), "losses": sum(o == 0.0 for o in outcomes)}


def gold_profile(prompts: list[dict], answers: list[list[str]]) -> dict:
    """Mean gold score and how often answers name the term, are polite, and fall in the length band."""
    judged = [gold.judge(p["text"], a) for p, row in zip(prompts, answers) for a in row]
    low, high = gold.LENGTH_BAND
    return {"gold_score": mean(j.score for j in judged), "names_term": mean(j.names_term for j in judged),
            "polite": mean(j.polite for j in judged), "in_length_band": mean(low <= j.words <= high for j in judged),
            "words": mean(j.words for j in judged)}


def rm_gold_accuracy(rm_dir, prompts: list[dict], answers: list[list[str]]) -> dict:
    """Share of gold-untied answer pairs the reward model orders like the gold rule."""
    from training.engine.reward import load_reward_model

    rm = load_reward_model(rm_dir)
    rewards = rm.score([(p["text"], a) for p, row in zip(prompts, answers) for a in row])
    by_prompt = []
    k = 0
    for p, row in zip(prompts, answers):
        scores = [gold.gold_score(p["text"], a) for a in row]
        r = rewards[k:k + len(row)]
        k += len(row)
        by_prompt.append([float((scores[i] > scores[j]) == (r[i] > r[j]))
                          for i in range(len(row)) for j in range(i + 1, len(row)) if scores[i] != scores[j]])
    summary = clustered_rate(by_prompt)
    if not summary["n"]:
        summary.update(rate=0.0, ci_low=0.0, ci_high=1.0)
    return {"accuracy": summary["rate"], "ci_low": summary["ci_low"],
            "ci_high": summary["ci_high"], "pairs": summary["n"], "prompts": summary["prompts"]}


def policy_stats(policy_dir, reference_dir, rm_dir, prompts: list[dict], max_new_tokens: int, seed: int = 1234) -> dict:
    """Mean RM reward, KL(π‖π_SFT) in nats per answer and answer length in tokens, on fresh samples."""
    from training.engine.device import load_causal_lm, load_tokenizer
    from training.engine.ppo import evaluate_policy
    from training.engine.reward import load_reward_model

    stats = evaluate_policy(load_causal_lm(policy_dir), load_causal_lm(reference_dir), load_reward_model(rm_dir),
                            load_tokenizer(policy_dir), [{"text": p["text"]} for p in prompts],
                            max_new_tokens=max_new_tokens, seed=seed)
    return {"rm_reward": stats["eval_reward"], "kl_to_sft": stats["eval_kl"], "answer_tokens": stats["eval_answer_length"]}


def demo_lm_loss(model_dir, demonstrations: list[dict]) -> float:
    """Per-token LM loss on held-out demonstration completions (what PPO-ptx is meant to protect)."""
    from training.engine.device import load_causal_lm, load_tokenizer
    from training.engine.ppo import lm_eval_loss

    return lm_eval_loss(load_causal_lm(model_dir), load_tokenizer(model_dir), demonstrations)
