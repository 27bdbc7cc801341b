"""Data parallelism on the CPU: 2 gloo processes started as docs/distributed.md says
(``ACCELERATE_USE_CPU=true torchrun --standalone --nproc_per_node 2 ...``) take the same steps as 1 process
on the same global batches: the same weights (1e-5, fp32), the same learning rate at every step; PPO's β and
whitening statistics agree on both ranks; a 2-process run killed midway resumes and ends where 1 process ends.

Each torchrun start costs tens of seconds here, so one start runs SFT, RM, RM with prefix reuse and PPO
(``distributed_runs.py``) and the kill/resume test starts the CLI twice.

The weight checks use a tiny LLaMA (no biases): GPT-2's attention key bias has a true gradient of exactly 0
(softmax ignores a constant added to every key), Adam turns the float noise there into steps of size ~lr,
and those weights differ between ANY two summation orders, one process or two.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from safetensors.torch import load_file

from tests.training.engine.synthetic import NOUNS, TRAIN_NOUNS, demonstrations, prompt_for, rankings
from training.engine.data import write_jsonl
from training.engine.reward import RMConfig, train_reward_model
from training.engine.sft import SFTConfig, train_sft

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[3]

SFT = {"batch_size": 4, "epochs": 2, "learning_rate": 1e-3, "eval_fraction": 0.0, "log_every": 1, "save_every": 100}
RM = {"batch_size": 4, "epochs": 2, "learning_rate": 2e-4, "eval_fraction": 0.0, "log_every": 1, "save_every": 100}
BOOTSTRAP = {"arch": "llama", "vocab_size": 400, "n_embd": 32, "n_head": 4, "n_layer": 1, "max_steps": 6,
             "batch_size": 5, "block_size": 24, "learning_rate": 1e-3, "warmup_steps": 0, "log_every": 1,
             "save_every": 100}
PPO = {"iterations": 2, "batch_size": 6, "mini_batch_size": 4, "ppo_epochs": 1, "max_new_tokens": 6,
       "adaptive_kl": True, "target_kl": 0.01, "kl_horizon": 10, "log_every": 1, "save_every": 100}


def torchrun(*args) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", *args]


def env():
    return {**os.environ, "ACCELERATE_USE_CPU": "true", "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


def weights(out: Path) -> dict:
    w = load_file(str(out / "model.safetensors"))
    if (out / "reward_head.safetensors").exists():
        w.update({"head." + k: v for k, v in load_file(str(out / "reward_head.safetensors")).items()})
    return w


def assert_weights_close(a: Path, b: Path, atol=1e-5):
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    worst, key = max(((wa[k] - wb[k]).abs().max().item(), k) for k in wa)
    assert worst < atol, (key, worst)


def logged(out: Path, name="metrics.jsonl") -> list[dict]:
    return [json.loads(line) for line in (out / name).read_text().splitlines() if "final" not in line]


def assert_same_schedule(one: Path, two: Path):
    """Same learning rate at every step (exactly) and the same global-batch loss (to float noise)."""
    a, b = logged(one), logged(two)
    assert [r["step"] for r in a] == [r["step"] for r in b] == list(range(1, len(a) + 1))
    assert [r["lr"] for r in a] == [r["lr"] for r in b]
    assert a[-1]["lr"] < a[0]["lr"]  # the linear schedule really decays over the run
    for ra, rb in zip(a, b):
        assert abs(ra["loss"] - rb["loss"]) < 1e-5


@pytest.fixture(scope="module")
def tiny_llama(tmp_path_factory):
    from tests.training.engine.synthetic import tiny_llama

    return tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    root = tmp_path_factory.mktemp("dp-data")
    # 21 demonstrations in batches of 4 and 9 rankings in batches of 4: each epoch ends with a batch of ONE,
    # so process 1 gets an empty shard (placeholder of weight 0, nothing duplicated)
    write_jsonl(root / "demos.jsonl", demonstrations(NOUNS[:6])[:21])
    write_jsonl(root / "rankings.jsonl", rankings(NOUNS[:6], k=4, n_per_noun=2)[:9])
    write_jsonl(root / "prompts.jsonl", [{"text": prompt_for(n)} for n in TRAIN_NOUNS[:12]])
    return root


@pytest.fixture(scope="module")
def two_process(tiny_llama, sft_model, synthetic_rm, data, tmp_path_factory):
    root = tmp_path_factory.mktemp("dp-two")
    spec = [
        {"kind": "bootstrap", "out": str(root / "bootstrap"), "config": BOOTSTRAP},
        {"kind": "sft", "model": str(tiny_llama), "data": str(data / "demos.jsonl"), "out": str(root / "sft"),
         "config": SFT},
        {"kind": "sft", "model": str(tiny_llama), "data": str(data / "demos.jsonl"), "out": str(root / "sft-stop"),
         "config": SFT, "stop_on_rank0_after": 3},
        {"kind": "rm", "model": str(tiny_llama), "data": str(data / "rankings.jsonl"), "out": str(root / "rm"),
         "config": RM},
        {"kind": "rm", "model": str(tiny_llama), "data": str(data / "rankings.jsonl"), "out": str(root / "rm-prefix"),
         "config": {**RM, "prefix_reuse": True}},
        {"kind": "ppo", "model": str(sft_model), "reward_model": str(synthetic_rm[0]),
         "data": str(data / "prompts.jsonl"), "out": str(root / "ppo"), "config": PPO},
    ]
    (root / "spec.json").write_text(json.dumps(spec))
    proc = subprocess.run(torchrun("tests/training/engine/distributed_runs.py", str(root / "spec.json")),
                          cwd=ROOT, env=env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return root


def test_bootstrap_two_processes_equal_one(two_process, tmp_path):
    from tests.training.engine.synthetic import corpus
    from training.engine.bootstrap import BootstrapConfig, bootstrap

    # 5 windows per step over 2 processes: 3 + 2, the split need not be even
    bootstrap(tmp_path / "one", texts=corpus(), config=BootstrapConfig(**BOOTSTRAP))
    assert_weights_close(tmp_path / "one", two_process / "bootstrap")
    assert_same_schedule(tmp_path / "one", two_process / "bootstrap")


def test_sft_two_processes_equal_one(tiny_llama, data, two_process, tmp_path):
    train_sft(tiny_llama, data / "demos.jsonl", tmp_path / "one", SFTConfig(**SFT))
    assert_weights_close(tmp_path / "one", two_process / "sft")
    base, trained = weights(tiny_llama), weights(tmp_path / "one")
    assert max((base[k] - trained[k]).abs().max().item() for k in base) > 1e-3  # it did train
    assert_same_schedule(tmp_path / "one", two_process / "sft")


@pytest.mark.parametrize("prefix_reuse", [False, True])
def test_reward_model_two_processes_equal_one(tiny_llama, data, two_process, tmp_path, prefix_reuse):
    train_reward_model(tiny_llama, data / "rankings.jsonl", tmp_path / "one", RMConfig(**RM, prefix_reuse=prefix_reuse))
    two = two_process / ("rm-prefix" if prefix_reuse else "rm")
    assert_weights_close(tmp_path / "one", two)
    assert_same_schedule(tmp_path / "one", two)


def test_ppo_two_processes_share_beta_and_whitening_statistics(two_process):
    out = two_process / "ppo"
    assert (out / "model.safetensors").exists() and (out / "value_model" / "reward_head.safetensors").exists()
    ranks = [logged(out, f"rank-{r}.jsonl") for r in (0, 1)]
    assert [r["step"] for r in ranks[0]] == [r["step"] for r in ranks[1]] == [1, 2]
    for a, b in zip(*ranks):
        for key in ("kl_coef", "advantage_mean", "advantage_std", "reward", "kl", "pg_loss", "value_loss"):
            assert a[key] == b[key], key
    assert ranks[0][1]["kl_coef"] != ranks[0][0]["kl_coef"]  # the adaptive controller did move β (identically)
    assert ranks[0][0]["kl"] == 0.0  # before the first update the policy IS the reference


def test_a_stop_seen_by_one_process_stops_both_at_the_same_step(two_process):
    """Process 0 alone asks to stop after step 3: both save the step-3 checkpoint and return (a process that
    ran on would wait forever in its next collective, and the run would hang)."""
    from training.engine.checkpoint import latest_checkpoint

    out = two_process / "sft-stop"
    assert int(latest_checkpoint(out).name.split("-")[1]) == 3
    assert [r["step"] for r in logged(out, "rank-0.jsonl")] == [r["step"] for r in logged(out, "rank-1.jsonl")] == [1, 2, 3]
    assert not (out / "model.safetensors").exists()  # stopped, not finished


def test_two_process_run_killed_midway_resumes_to_the_same_end(tiny_llama, data, tmp_path):
    cfg = {**SFT, "max_steps": 40, "save_every": 4}
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in cfg.items()]
    cmd = torchrun("-m", "training.engine", "sft", "--model", str(tiny_llama), "--data", str(data / "demos.jsonl"),
                   "--out", str(tmp_path / "two"), *flags)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    marker = tmp_path / "two" / "checkpoints" / "step-0000008" / "state.pt"
    deadline = time.monotonic() + 300
    while not marker.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # torchrun and both workers, mid-run
    proc.wait()
    assert marker.exists() and not (tmp_path / "two" / "model.safetensors").exists(), "not killed midway"

    resumed = subprocess.run(cmd, cwd=ROOT, env=env(), capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    train_sft(tiny_llama, data / "demos.jsonl", tmp_path / "one", SFTConfig(**cfg))
    assert_weights_close(tmp_path / "one", tmp_path / "two")
    assert_same_schedule(tmp_path / "one", tmp_path / "two")
