"""Helpers for the engine's resume and training tests: compare runs, stop one midway."""

import json

import torch
from safetensors.torch import load_file


def metrics_lines(path):
    """The logged metrics without wall-clock timings (time_*_s), which no two runs share."""
    return [{k: v for k, v in json.loads(line).items() if not k.startswith("time_")}
            for line in (path / "metrics.jsonl").read_text().splitlines()]


def assert_same_weights(a, b):
    wa, wb = load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.equal(wa[k], wb[k]), k


def stop_after(n):
    calls = {"n": 0}

    def should_stop():
        calls["n"] += 1
        return calls["n"] >= n

    return should_stop
