"""Generated text for the experiment: prompts, pretraining text and the labelers' demonstrations.

Everything is drawn from a small grammar with a fixed seed, so the experiment needs no download and a
fresh clone regenerates the same data. Every prompt asks about one key term from ``TERMS``. Answers are
sentences about a term (the key term or another one) or filler, with or without a polite phrase, of
varied length; a ``Style`` sets how often an answer does each of the things the hidden gold rule rewards
(``gold.py``), so the pretraining text is mediocre, demonstrations a bit better, and there is room left
for the reward model and PPO to find the rest.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

TERMS = (
    "river", "garden", "lamp", "bicycle", "violin", "kettle", "mountain", "library", "robot", "compass",
    "island", "castle", "candle", "forest", "engine", "mirror", "ladder", "harbor", "bridge", "orchard",
    "telescope", "blanket", "camera", "glacier", "market", "pillow", "volcano", "lantern", "piano", "tractor",
)
ADJECTIVES = ("old", "quiet", "bright", "heavy", "small", "useful", "famous", "simple", "strong", "gentle",
              "busy", "clean", "warm", "cold", "tall", "cheap", "rare", "modern")
PLACES = ("the city", "the village", "a museum", "the countryside", "a shop", "the north", "every home")
TOPIC_SENTENCES = (
    "The {t} is {a}.", "A {t} can be {a} and {b}.", "Many people like the {t}.",
    "You can find a {t} in {p}.", "The first {t} was made long ago.", "A good {t} lasts for years.",
    "Some say the {t} is {a} but {b}.", "People in {p} often talk about the {t}.", "Every {t} is a little different.",
    "A {a} {t} is easy to spot.",
)
FILLER = (
    "It is hard to say.", "That depends on many things.", "Some things are simple.", "The weather was mild.",
    "There is more to learn.", "Time passes quickly.", "Nobody knows for sure.", "It was a long day.",
)
POLITE_OPENERS = ("Happy to help!", "Great question!", "Thank you for asking.")
POLITE_CLOSERS = ("I hope this helps.",)
PLAIN_OPENERS = ("Okay.", "Well.", "Hmm.", "Right.", "", "", "")
PROMPT_TEMPLATES = (
    "Tell me about the {t}.", "What is a {t}?", "Describe the {t} briefly.", "Write a few words about the {t}.",
    "Can you explain the {t}?", "I want to learn about the {t}.", "Say something about the {t}.",
    "Give me a note on the {t}.",
)
SPLITS = ("sft", "rm", "ppo", "eval")


@dataclass(frozen=True)
class Style:
    """How an author writes: chance to stay on the key term, to be polite, and how many sentences."""

    p_term: float
    p_polite: float
    min_sentences: int = 1
    max_sentences: int = 6


PRETRAINING_STYLE = Style(p_term=0.5, p_polite=0.2, min_sentences=1, max_sentences=7)
DEMONSTRATION_STYLE = Style(p_term=0.6, p_polite=0.4, min_sentences=1, max_sentences=5)


def topic_sentence(rng: random.Random, term: str) -> str:
    a, b = rng.sample(ADJECTIVES, 2)
    return rng.choice(TOPIC_SENTENCES).format(t=term, a=a, b=b, p=rng.choice(PLACES))


def answer(rng: random.Random, term: str, style: Style) -> str:
    """One answer about ``term`` written in ``style``."""
    on_term = rng.random() < style.p_term
    polite = rng.random() < style.p_polite
    n = rng.randint(style.min_sentences, style.max_sentences)
    others = [t for t in TERMS if t != term]
    off_term = rng.choice(others)
    sentences = []
    for i in range(n):
        if on_term and (i == 0 or rng.random() < 0.85):
            sentences.append(topic_sentence(rng, term))
        elif rng.random() < 0.6:
            sentences.append(topic_sentence(rng, off_term))
        else:
            sentences.append(rng.choice(FILLER))
    if polite:
        if rng.random() < 0.7:
            sentences.insert(0, rng.choice(POLITE_OPENERS))
        else:
            sentences.append(rng.choice(POLITE_CLOSERS))
    else:
        opener = rng.choice(PLAIN_OPENERS)
        if opener:
            sentences.insert(0, opener)
    return " ".join(sentences)


def prompts(seed: int = 0) -> list[dict]:
    """All template × term prompts, each assigned to one split (disjoint, as in InstructGPT)."""
    rng = random.Random(seed)
    records = [{"text": template.format(t=term), "term": term}
               for term in TERMS for template in PROMPT_TEMPLATES]
    rng.shuffle(records)
    for i, record in enumerate(records):
        record["split"] = SPLITS[i % len(SPLITS)]
        record["category"] = "open QA" if record["text"].endswith("?") else "generation"
    return records


def pretraining_texts(n_dialogues: int = 3000, n_paragraphs: int = 600, seed: int = 1) -> list[str]:
    """Mediocre 'web text': chat transcripts with answers of every quality, plus prose about the terms."""
    rng = random.Random(seed)
    texts = []
    for _ in range(n_dialogues):
        term = rng.choice(TERMS)
        question = rng.choice(PROMPT_TEMPLATES).format(t=term)
        texts.append(f"User: {question}\nAssistant: {answer(rng, term, PRETRAINING_STYLE)}")
    for _ in range(n_paragraphs):
        term = rng.choice(TERMS)
        texts.append(" ".join(topic_sentence(rng, term) for _ in range(rng.randint(2, 6))))
    return texts


def demonstration(prompt: dict, seed: int) -> str:
    """What a labeler writes for ``prompt`` (better than the web text, far from perfect)."""
    return answer(random.Random(seed), prompt["term"], DEMONSTRATION_STYLE)
