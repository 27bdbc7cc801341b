"""A job's config, per kind: the job's own fields (which prompts, which models play which part) and the
engine's config dataclass, read from one launch config by `split_config` through the engine's
`from_dict`, so a bad value is a JobError naming the field (`config.learning_rate`). Also the schema the
launch form is built from (`config_schema`): every field's type, default, help and choices.

Choice lists live here once (CHOICES, EVALUATION_MODES): the checks and the schema read the same ones.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from training.config_help import field_help
from training.engine.config import MIXED_PRECISION, ConfigError, from_dict
from training.errors import JobError

MAX_PROCESSES = 64
from training.models import JobKind


@dataclass
class BootstrapFields:
    texts: list[str] = field(default_factory=list)  # pretraining text; also the input snapshots' text, else the prompts in the database


@dataclass
class ProcessFields:
    num_processes: int = 1  # processes to train on, one per GPU (the worker starts them with torchrun; CPU: gloo)


@dataclass
class PromptFields:
    prompt_ids: list[int] = field(default_factory=list)  # these prompts, or else all prompts of `split`
    split: str = ""
    limit: int = 0                                     # at most this many prompts (0: all)


@dataclass
class PPOFields(PromptFields, ProcessFields):
    split: str = "ppo"
    preset: str = ""                                   # "instructgpt": β 0.02, γ_ptx 27.8 (then the fields given)


@dataclass
class RMFields(ProcessFields):
    ensemble_heads: int = 0       # 2..64: also train that many bootstrap heads on the RM (uncertainty; 0: none)


@dataclass
class SampleFields(PromptFields):
    labelers_required: int = 1                         # labelers per ranking task
    priority: int = 0
    order_by_uncertainty: bool = False                 # most uncertain first, by the input RM ensemble (training.uncertainty)
    uncertainty_budget: int = 0                        # with order_by_uncertainty: keep the N most uncertain (0: all)


@dataclass
class DPOFields(ProcessFields):
    reference: int | None = None  # model version id of the reference π_ref (default: the input model)


@dataclass
class BoNFields(PromptFields):
    split: str = "ppo"            # the prompts to sample N answers for


EVALUATION_MODES = ("rm_accuracy", "reward_win_rate", "human_comparison")


@dataclass
class EvaluateFields(PromptFields):
    mode: str = "rm_accuracy"     # rm_accuracy | reward_win_rate | human_comparison
    split: str = "eval"
    candidate: int | None = None  # model version ids; by default taken from input_models
    baseline: int | None = None
    judge: int | None = None      # the reward model judging reward_win_rate
    labelers_required: int = 1


def _engine_config(kind):
    """The engine's config dataclass and the function that builds it from a dict, per job kind."""
    if kind == JobKind.BOOTSTRAP:
        from training.engine.bootstrap import BootstrapConfig as cls
    elif kind == JobKind.SFT:
        from training.engine.sft import SFTConfig as cls
    elif kind == JobKind.RM:
        from training.engine.reward import RMConfig as cls
    elif kind == JobKind.PPO:
        from training.engine.ppo import PPOConfig as cls
    elif kind == JobKind.DPO:
        from training.engine.dpo import DPOConfig as cls
    elif kind == JobKind.BON:
        from training.engine.best_of_n import BoNConfig as cls
    else:
        from training.engine.sampling import SamplingConfig as cls
    return cls


JOB_FIELDS = {
    JobKind.BOOTSTRAP: BootstrapFields,
    JobKind.SFT: ProcessFields,
    JobKind.RM: RMFields,
    JobKind.PPO: PPOFields,
    JobKind.SAMPLE: SampleFields,
    JobKind.EVALUATE: EvaluateFields,
    JobKind.DPO: DPOFields,
    JobKind.BON: BoNFields,
}

CHOICES = {
    "mixed_precision": MIXED_PRECISION,  # the engine's own list: what its configs accept
    "arch": ("gpt2", "llama"),
    "mode": EVALUATION_MODES,
    "preset": ("", "instructgpt"),
    "loss": ("pairwise", "listwise"),
}


def split_config(kind, config):
    """(job fields, engine config) from one launch config; each raises JobError naming the field."""
    if not isinstance(config, dict):
        raise JobError("config", "must be a JSON object")
    fields_cls = JOB_FIELDS[kind]
    own_names = {f.name for f in dataclasses.fields(fields_cls)}
    own = {k: v for k, v in config.items() if k in own_names}
    rest = {k: v for k, v in config.items() if k not in own_names}
    try:
        job_fields = from_dict(fields_cls, own)
        engine_cls = _engine_config(kind)
        if kind == JobKind.PPO and job_fields.preset:
            if job_fields.preset not in CHOICES["preset"]:
                raise ConfigError("preset", "must be one of instructgpt")
            engine = engine_cls.from_preset(job_fields.preset, **rest)
        else:
            engine = from_dict(engine_cls, rest)
    except ConfigError as exc:
        raise JobError(f"config.{exc.field}", exc.message) from exc
    _check_fields(job_fields)
    if kind == JobKind.SAMPLE:
        from labeling.models import MAX_K, MIN_K

        if not MIN_K <= engine.k <= MAX_K:
            raise JobError("config.k", f"a ranking task shows {MIN_K} to {MAX_K} answers")
    return job_fields, engine


def _check_fields(fields):
    from labeling.models import Split

    if isinstance(fields, PromptFields):
        if fields.split and fields.split not in Split.values:
            raise JobError("config.split", f"must be one of {', '.join(Split.values)}")
        if fields.limit < 0:
            raise JobError("config.limit", "must be >= 0")
    if isinstance(fields, ProcessFields) and not 1 <= fields.num_processes <= MAX_PROCESSES:
        raise JobError("config.num_processes", f"must be from 1 to {MAX_PROCESSES}")
    if isinstance(fields, RMFields) and fields.ensemble_heads and not 2 <= fields.ensemble_heads <= 64:
        raise JobError("config.ensemble_heads", "must be 0 (no ensemble) or from 2 to 64")
    if isinstance(fields, SampleFields) and fields.uncertainty_budget < 0:
        raise JobError("config.uncertainty_budget", "must be >= 0")
    if isinstance(fields, SampleFields) and fields.uncertainty_budget and not fields.order_by_uncertainty:
        raise JobError("config.uncertainty_budget", "a budget picks the most uncertain prompts: set order_by_uncertainty")
    if isinstance(fields, (SampleFields, EvaluateFields)) and not 1 <= fields.labelers_required <= 20:
        raise JobError("config.labelers_required", "must be from 1 to 20")
    if isinstance(fields, EvaluateFields) and fields.mode not in EVALUATION_MODES:
        raise JobError("config.mode", f"must be one of {', '.join(EVALUATION_MODES)}")


def config_schema():
    """Per kind, the config fields a launch form needs: name, type, default, choices, and where each
    belongs (`job` or `engine`); plus which inputs the kind takes."""
    import typing

    out = {}
    for kind in JobKind.values:
        fields = []
        for source, cls in (("job", JOB_FIELDS[kind]), ("engine", _engine_config(kind))):
            hints, helps = typing.get_type_hints(cls), field_help(cls)
            for f in dataclasses.fields(cls):
                if kind in (JobKind.EVALUATE,) and source == "engine" and f.name == "k":
                    continue
                default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
                entry = {"name": f.name, "type": _type_label(hints[f.name]), "default": default, "source": source,
                         "help": helps[f.name]}
                if f.name in CHOICES:
                    entry["choices"] = list(CHOICES[f.name])
                fields.append(entry)
        out[kind] = {"fields": fields, "inputs": INPUTS_HELP[kind]}
        if kind == JobKind.PPO:  # the form shows a preset's values, so what is sent is what was shown
            from training.engine.ppo import PRESETS

            out[kind]["presets"] = {name: values for name, values in PRESETS.items() if name in CHOICES["preset"]}
    return {"kinds": out}


def _type_label(tp):
    import typing

    args = [a for a in typing.get_args(tp) if a is not type(None)]
    if typing.get_origin(tp) is list:
        return "list"
    if args and typing.get_origin(tp) is not list:
        tp = args[0]
    return {int: "int", float: "float", bool: "bool", str: "str", dict: "json"}.get(tp, "str")


INPUTS_HELP = {
    JobKind.BOOTSTRAP: "no model; optional snapshots whose text is added to the pretraining text",
    JobKind.SFT: "one language model (base, sft or policy) and one sft snapshot",
    JobKind.RM: "one model (base, sft or rm) and one pairs or rankings snapshot; optional sft snapshot "
                "(demonstrations that normalise the reward to mean 0)",
    JobKind.PPO: "one language model (the SFT policy) and one reward model; optional sft snapshot (PPO-ptx data)",
    JobKind.SAMPLE: "one language model; with config.order_by_uncertainty also a reward model trained with "
                    "config.ensemble_heads (tasks are created most uncertain first)",
    JobKind.EVALUATE: "rm_accuracy: one reward model and one pairs or rankings snapshot; reward_win_rate: "
                      "candidate and baseline language models and a reward model; human_comparison: two language models",
    JobKind.DPO: "one language model (the SFT policy, also the reference unless config.reference) and one pairs or "
                 "rankings snapshot",
    JobKind.BON: "one language model to sample from and one reward model that picks the best of N",
}
