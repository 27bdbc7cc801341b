import pytest

from training.engine.bootstrap import BootstrapConfig
from training.engine.config import ConfigError, from_dict
from training.engine.ppo import PPOConfig
from training.engine.reward import RMConfig
from training.engine.sampling import SamplingConfig
from training.engine.sft import SFTConfig


@pytest.mark.parametrize("cls, data, field", [
    (SFTConfig, {"learning_rate": -1.0}, "learning_rate"),
    (SFTConfig, {"batch_size": "8"}, "batch_size"),
    (SFTConfig, {"batch_size": 2.5}, "batch_size"),
    (SFTConfig, {"bucket": 1}, "bucket"),
    (SFTConfig, {"no_such_knob": 1}, "no_such_knob"),
    (SFTConfig, {"eval_fraction": 1.0}, "eval_fraction"),
    (RMConfig, {"mixed_precision": "fp8"}, "mixed_precision"),
    (PPOConfig, {"gamma": 1.5}, "gamma"),
    (PPOConfig, {"kl_coef": -0.1}, "kl_coef"),
    (SamplingConfig, {"k": 0}, "k"),
    (BootstrapConfig, {"n_head": 5}, "n_head"),
    (BootstrapConfig, {"arch": "mamba"}, "arch"),
])
def test_errors_name_the_field(cls, data, field):
    with pytest.raises(ConfigError) as e:
        from_dict(cls, data)
    assert e.value.field == field
    assert field in str(e.value)


def test_from_dict_accepts_valid_values_and_ints_for_floats():
    cfg = from_dict(SFTConfig, {"learning_rate": 1, "epochs": 3, "mixed_precision": "bf16"})
    assert cfg.learning_rate == 1.0 and isinstance(cfg.learning_rate, float) and cfg.epochs == 3
    assert from_dict(PPOConfig, {}) == PPOConfig()
