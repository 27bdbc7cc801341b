"""Every job config field reaches the launch form with help text: its comment in the config dataclass,
or the common wording for shared fields (training/config_help.py)."""

from dataclasses import dataclass

from training.config_help import field_help
from training.jobs import config_schema


def test_every_field_of_every_job_kind_has_help():
    missing = [f"{kind}.{f['name']}" for kind, spec in config_schema()["kinds"].items() for f in spec["fields"] if not f["help"]]
    assert missing == []


@dataclass
class Example:
    k: int = 4                # answers per prompt (InstructGPT: 4..9)
    learning_rate: float = 1e-4  # β
    seed: int = 0
    odd: str = "# not a comment"


def test_help_is_the_fields_comment_unless_terse_and_a_common_wording_exists():
    assert field_help(Example) == {
        "k": "answers per prompt (InstructGPT: 4..9)",
        "learning_rate": "AdamW step size",
        "seed": "random seed (same seed, same data: same result)",
        "odd": "",
    }


def test_the_ppo_schema_carries_its_presets_for_the_form():
    assert config_schema()["kinds"]["ppo"]["presets"]["instructgpt"]["kl_coef"] == 0.02


@dataclass
class Other:
    top_k: int = 0  # sample among the k likeliest answers


def test_help_is_read_without_ast_so_server_threads_can_ask_at_once(monkeypatch):
    # CPython 3.11's ast.parse is not thread-safe: CI once failed with "AST constructor recursion
    # depth mismatch" when a test and the live server built the schema at the same moment.
    import ast
    import threading

    parse, parsed = ast.parse, []

    def counting_parse(*args, **kwargs):
        parsed.append(1)
        return parse(*args, **kwargs)

    monkeypatch.setattr(ast, "parse", counting_parse)
    results, errors = [], []

    def ask():
        try:
            results.append(field_help(Other))
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    monkeypatch.undo()
    assert parsed == []
    assert errors == []
    assert results == [{"top_k": "sample among the k likeliest answers"}] * 8
