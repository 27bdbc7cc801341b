"""Prompts and answers as the whole project reads them: one normaliser, no torch, no Django.

A prompt is a conversation, a list of {"role", "content"} messages; a plain string is one user
message. An answer is a string, or [{"role": "assistant", "content": ...}] beside a conversation.
The engine (data.py) and the labeling app (labeling.ranking, the importers) both read prompts through
`normalise_prompt`, so a prompt means the same thing when it is labeled and when it is trained on.
"""

from __future__ import annotations


def normalise_prompt(prompt) -> list[dict]:
    """A prompt as a list of messages (a plain string becomes one user message)."""
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    if isinstance(prompt, list) and all(isinstance(m, dict) and "content" in m for m in prompt):
        return [{"role": m.get("role", "user"), "content": m["content"]} for m in prompt]
    raise ValueError(f"prompt must be a string or a list of messages, got {type(prompt).__name__}")


def normalise_answer(answer) -> str:
    if isinstance(answer, str):
        return answer
    if isinstance(answer, list) and answer and isinstance(answer[-1], dict):
        return "".join(m["content"] for m in answer)
    if isinstance(answer, dict) and "content" in answer:
        return answer["content"]
    raise ValueError(f"answer must be a string or [{{role, content}}], got {type(answer).__name__}")
