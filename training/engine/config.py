"""Configuration helpers shared by every training step.

Each step (SFT, reward model, PPO, sampling, bootstrap) declares a dataclass at the top of its module
with every hyperparameter as a visible default. ``from_dict`` turns untrusted JSON (the job API, a
``--config`` file) into such a dataclass and raises ``ConfigError`` naming the offending field, so the
web layer can answer HTTP 400 with the field name.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from typing import Any

MIXED_PRECISION = ("no", "fp16", "bf16")


class ConfigError(ValueError):
    """A configuration value is unknown, of the wrong type or out of range."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")

    def as_dict(self) -> dict:
        return {"field": self.field, "message": self.message}


def _type_ok(value: Any, tp: Any) -> tuple[bool, Any]:
    """Check ``value`` against a (simple) annotation; return (ok, possibly-coerced value)."""
    origin = typing.get_origin(tp)
    if origin is typing.Union or (origin is not None and str(origin) == "<class 'types.UnionType'>"):
        args = typing.get_args(tp)
        if value is None:
            return (type(None) in args), value
        for arg in args:
            if arg is type(None):
                continue
            ok, coerced = _type_ok(value, arg)
            if ok:
                return True, coerced
        return False, value
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            return False, value
        (item_tp, *_) = typing.get_args(tp) or (Any,)
        out = []
        for item in value:
            ok, coerced = _type_ok(item, item_tp)
            if not ok:
                return False, value
            out.append(coerced)
        return True, list(out)
    if tp is Any:
        return True, value
    if tp is bool:
        return isinstance(value, bool), value
    if tp is int:
        return (isinstance(value, int) and not isinstance(value, bool)), value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False, value
        return True, float(value)
    if tp is str:
        return isinstance(value, str), value
    if tp is dict:
        return isinstance(value, dict), value
    return isinstance(value, tp), value


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def from_dict(cls, d: dict | None):
    """Build config ``cls`` from a plain dict; unknown keys, wrong types and bad ranges raise ConfigError."""
    d = dict(d or {})
    if not isinstance(d, dict):
        raise ConfigError("config", "must be a JSON object")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.init}
    kwargs = {}
    for key, value in d.items():
        if key not in names:
            raise ConfigError(key, f"unknown field for {cls.__name__}")
        ok, coerced = _type_ok(value, hints[key])
        if not ok:
            raise ConfigError(key, f"expected {_type_name(hints[key])}, got {type(value).__name__}")
        kwargs[key] = coerced
    return cls(**kwargs)  # __post_init__ validates ranges


def to_dict(config) -> dict:
    return dataclasses.asdict(config)


# ---- range checks used in __post_init__ -------------------------------------------------------


def check_positive(name: str, value, allow_zero: bool = False):
    if value is None:
        return
    if allow_zero and value < 0:
        raise ConfigError(name, "must be >= 0")
    if not allow_zero and value <= 0:
        raise ConfigError(name, "must be > 0")


def check_range(name: str, value, low=None, high=None, low_open=False, high_open=False):
    if value is None:
        return
    if low is not None and (value < low or (low_open and value == low)):
        raise ConfigError(name, f"must be {'>' if low_open else '>='} {low}")
    if high is not None and (value > high or (high_open and value == high)):
        raise ConfigError(name, f"must be {'<' if high_open else '<='} {high}")


def check_choice(name: str, value, choices):
    if value not in choices:
        raise ConfigError(name, f"must be one of {', '.join(map(str, choices))}")


@dataclass
class TrainResult:
    """What every train function returns (and what a Celery task stores)."""

    output_dir: str
    metrics: dict = field(default_factory=dict)
    steps: int = 0
    total_steps: int = 0
    stopped: bool = False

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def check_common(config):
    """Checks for the fields most configs share (only those the config has)."""
    for name in ("learning_rate", "batch_size", "log_every", "save_every", "max_length"):
        if hasattr(config, name):
            check_positive(name, getattr(config, name))
    for name in ("epochs", "max_steps", "warmup_steps", "weight_decay", "max_grad_norm"):
        if hasattr(config, name):
            check_positive(name, getattr(config, name), allow_zero=True)
    if hasattr(config, "eval_fraction"):
        check_range("eval_fraction", config.eval_fraction, 0.0, 1.0, high_open=True)
    if hasattr(config, "mixed_precision"):
        check_choice("mixed_precision", config.mixed_precision, MIXED_PRECISION)
    if hasattr(config, "seed"):
        check_positive("seed", config.seed, allow_zero=True)
    if hasattr(config, "lora_r"):
        check_positive("lora_r", config.lora_r, allow_zero=True)
        check_positive("lora_alpha", config.lora_alpha)
        check_range("lora_dropout", config.lora_dropout, 0.0, 1.0, high_open=True)
