"""What counts as text here: valid Unicode with no NUL character.

JSON can spell things no database stores: a lone UTF-16 surrogate ("\\ud800") is not a character,
cannot be encoded as UTF-8 (SQLite, PostgreSQL and every JSON Lines export write UTF-8) and made
lists and exports fail after it was saved; PostgreSQL refuses NUL ("\\u0000") in text and jsonb.
Every edge that turns bytes into values (the API's parsers, the prompt and ranking importers, the
commands) runs `check_text` on what it decoded and refuses the request or line with the path of the
first bad string, so nothing of the kind is stored. Messages never echo the bad value.
"""

import re

from labeling.errors import RuleError

_BAD = re.compile("[\x00\ud800-\udfff]")
MAX_DEPTH = 200


def text_problem(value):
    """Why the string `value` can't be stored, or None."""
    match = _BAD.search(value)
    if match is None:
        return None
    if match.group() == "\x00":
        return f"contains a NUL character (at {match.start()})"
    return f"is not valid Unicode: a lone surrogate (at {match.start()})"


def first_bad_text(value, path="", depth=0):
    """(path, problem) of the first string, key or value, in a decoded JSON value that can't be stored;
    None when all is well. Paths are dotted: `messages.0.content`."""
    if isinstance(value, str):
        problem = text_problem(value)
        return (path, problem) if problem else None
    if depth > MAX_DEPTH:
        return None  # the parsers refuse deeper nesting on their own
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        where = f"{path}.{key}" if path else str(key)
        if isinstance(key, str) and text_problem(key):
            return path, f"has a key that {text_problem(key)}"  # the key itself is not echoed
        found = first_bad_text(item, where, depth + 1)
        if found:
            return found
    return None


def check_text(value, path=""):
    """Raise RuleError(path, problem) if `value` holds a string that can't be stored."""
    found = first_bad_text(value, path)
    if found:
        field, problem = found
        raise RuleError(field or "body", problem)
    return value
