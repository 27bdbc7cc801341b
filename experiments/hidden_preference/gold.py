"""The hidden gold preference and the simulated labelers who rank by it.

No model ever sees this rule; it only reaches training through labelers' rankings, exactly as people's
preferences reach InstructGPT. A good answer to "Tell me about the lamp."

- names the prompt's key term ("lamp"),                       worth 2
- is polite (one of ``POLITE`` phrases),                       worth 1
- and is 12..30 words long (inside ``LENGTH_BAND``),          worth 1, fading linearly to 0 ten words out.

A labeler ranks K answers by ``gold_score + N(0, σ)`` with its own random stream, so two labelers disagree
now and then; ``calibrate_noise`` picks σ so that two labelers order a pair the same way about 73% of the
time (InstructGPT's inter-labeler agreement), given the answers actually being ranked.
"""

from __future__ import annotations

import math
import random
import re
from dataclasses import dataclass

from .corpus import TERMS

POLITE = ("happy to help", "great question", "thank you for asking", "i hope this helps")
LENGTH_BAND = (12, 30)
LENGTH_FADE = 10.0
TERM_WEIGHT, POLITE_WEIGHT, LENGTH_WEIGHT = 2.0, 1.0, 1.0
TARGET_AGREEMENT = 0.73

_WORD = re.compile(r"[a-z']+")


def key_term(prompt: str) -> str:
    """The one corpus term a prompt asks about (the last one named, if several are)."""
    found = [t for t in _WORD.findall(prompt.lower()) if t in TERMS]
    if not found:
        raise ValueError(f"prompt names no key term: {prompt!r}")
    return found[-1]


@dataclass(frozen=True)
class Judgement:
    names_term: bool
    polite: bool
    words: int
    score: float


def judge(prompt: str, answer: str) -> Judgement:
    words = _WORD.findall(answer.lower())
    names_term = key_term(prompt) in words
    polite = any(p in answer.lower() for p in POLITE)
    low, high = LENGTH_BAND
    outside = max(low - len(words), len(words) - high, 0)
    length = max(0.0, 1.0 - outside / LENGTH_FADE)
    score = TERM_WEIGHT * names_term + POLITE_WEIGHT * polite + LENGTH_WEIGHT * length
    return Judgement(names_term, polite, len(words), score)


def gold_score(prompt: str, answer: str) -> float:
    return judge(prompt, answer).score


def gold_ranks(prompt: str, answers: list[str]) -> list[int]:
    """Competition ranks by gold score (1 best; equal scores share a rank)."""
    scores = [gold_score(prompt, a) for a in answers]
    return [1 + sum(s > mine for s in scores) for mine in scores]


def prefer(prompt: str, a: str, b: str) -> float:
    """1 when the gold rule prefers ``a``, 0 when it prefers ``b``, 0.5 on a tie."""
    sa, sb = gold_score(prompt, a), gold_score(prompt, b)
    return 1.0 if sa > sb else 0.0 if sa < sb else 0.5


# ---- simulated labelers --------------------------------------------------------------------------


class SimulatedLabeler:
    """Ranks answers by the gold score plus its own Gaussian noise (σ), always strictly (no ties)."""

    def __init__(self, sigma: float, seed: int):
        self.sigma = sigma
        self.rng = random.Random(seed)

    def rank(self, prompt: str, answers: list[str]) -> list[int]:
        noisy = [gold_score(prompt, a) + self.rng.gauss(0.0, self.sigma) for a in answers]
        order = sorted(range(len(answers)), key=lambda i: -noisy[i])
        ranks = [0] * len(answers)
        for position, i in enumerate(order, start=1):
            ranks[i] = position
        return ranks


def _phi(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def expected_agreement(score_lists: list[list[float]], sigma: float) -> float:
    """Chance that two labelers with noise σ order a pair alike, averaged over all pairs of all lists.

    One labeler orders a pair with gold difference d like gold with p = Φ(|d| / (σ√2)); two independent
    labelers agree with p² + (1−p)². Tied gold scores give p = ½.
    """
    total, count = 0.0, 0
    for scores in score_lists:
        for i in range(len(scores)):
            for j in range(i + 1, len(scores)):
                p = _phi(abs(scores[i] - scores[j]) / (sigma * math.sqrt(2.0))) if sigma > 0 else (
                    1.0 if scores[i] != scores[j] else 0.5)
                total += p * p + (1 - p) * (1 - p)
                count += 1
    return total / max(count, 1)


def calibrate_noise(score_lists: list[list[float]], target: float = TARGET_AGREEMENT) -> float:
    """σ (by bisection) at which the expected two-labeler agreement equals ``target``."""
    if expected_agreement(score_lists, 1e-6) <= target:
        return 1e-6  # the answers are already too alike to agree more often than the target
    low, high = 1e-6, 100.0
    for _ in range(60):
        mid = (low + high) / 2
        if expected_agreement(score_lists, mid) > target:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def pairwise_agreement(ranks_a: list[int], ranks_b: list[int]) -> tuple[int, int]:
    """(pairs ordered alike, pairs compared) between two rankings of the same answers."""
    same = total = 0
    for i in range(len(ranks_a)):
        for j in range(i + 1, len(ranks_a)):
            da, db = ranks_a[i] - ranks_a[j], ranks_b[i] - ranks_b[j]
            if da and db:
                total += 1
                same += (da > 0) == (db > 0)
    return same, total
