"""Synthetic world for engine tests: prompts "Tell me about the <noun>." answered "The <noun> is <adjective>.";
the preference rule is "good adjectives beat bad ones" (learnable from one key word)."""

import random


NOUNS = ["apple", "river", "stone", "cloud", "tree", "house", "road", "bird", "book", "lamp", "chair", "ship",
         "door", "hill", "fish", "star", "cake", "horse", "garden", "song"]
GOOD = ["good", "great", "nice", "lovely"]
BAD = ["bad", "poor", "sad", "ugly"]
HELD_OUT_NOUNS = NOUNS[16:]
TRAIN_NOUNS = NOUNS[:16]



def prompt_for(noun):
    return f"Tell me about the {noun}."


def answer_for(noun, adj):
    return f"The {noun} is {adj}."


def demonstrations(nouns=TRAIN_NOUNS, seed=0, n_per_noun=4, adjectives=None):
    rng = random.Random(seed)
    adjectives = adjectives or GOOD + BAD
    return [{"prompt": prompt_for(n), "completion": answer_for(n, rng.choice(adjectives))}
            for n in nouns for _ in range(n_per_noun)]


def rankings(nouns, k=4, seed=0, n_per_noun=4):
    """K-wise rankings: answers with more good adjectives rank higher (ties when equal)."""
    rng = random.Random(seed)
    out = []
    for n in nouns:
        for _ in range(n_per_noun):
            responses, scores = [], []
            for _ in range(k):
                adj = rng.choice(GOOD + BAD)
                responses.append(answer_for(n, adj))
                scores.append(1 if adj in GOOD else 0)
            order = sorted(set(scores), reverse=True)
            out.append({"prompt": prompt_for(n), "responses": responses, "ranks": [order.index(s) + 1 for s in scores]})
    return out


def corpus():
    lines = []
    for n in NOUNS:
        for a in GOOD + BAD:
            lines.append(f"User: {prompt_for(n)}\nAssistant: {answer_for(n, a)}")
    random.Random(0).shuffle(lines)
    return lines  # one document each: the bootstrap puts eos after every document




def tiny_llama(out, n_embd=64, n_layer=2, max_steps=120, batch_size=16, block_size=48):
    """A tiny LLaMA (no biases: weights of 1 and N processes compare to 1e-5) pretrained on the corpus."""
    from training.engine.bootstrap import BootstrapConfig, bootstrap

    bootstrap(out, texts=corpus(), config=BootstrapConfig(arch="llama", vocab_size=400, n_embd=n_embd, n_head=4,
                                                           n_layer=n_layer, max_steps=max_steps, batch_size=batch_size,
                                                           block_size=block_size, log_every=max_steps))
    return out
