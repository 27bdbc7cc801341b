"""GPU check: SFT and RM training on SmolLM2-135M-Instruct in bf16, sampling at K = 4 and 8, and 2-GPU DDP.

    python benchmarks/gpu.py                 # about 3-5 minutes on one H100/H200-class GPU
    python benchmarks/gpu.py --peak-tflops 312   # state the GPU's dense bf16 peak if its name is not known

Without a CUDA GPU it says so and exits 0. With one it reports, for each stage:
- training tokens/s (real tokens, padding excluded, after the first step so start-up is not counted),
- peak GPU memory (``torch.cuda.max_memory_allocated``),
- MFU = achieved model FLOP/s ÷ the GPU's dense bf16 peak, with model FLOPs = 6 · N · tokens (N = all
  parameters: 2·N for the forward pass, 4·N for the backward; attention's own T² term is left out, small
  at these lengths). The RM counts its K answers per ranking as tokens; its head adds nothing measurable.
- sampling tokens/s (generated tokens ÷ wall time) at K = 4 and K = 8 answers per prompt, KV cache on,
- with two or more GPUs, the same SFT run under DDP on 2 GPUs (``torchrun --nproc_per_node 2``), its
  tokens/s and the speed-up over one GPU.
Writes JSON to benchmarks/results/gpu.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PEAK_BF16_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "A10G": 125.0, "L4": 121.0,
                    "RTX 4090": 165.0, "A6000": 155.0}  # dense (no sparsity), per the vendors' data sheets
TOPICS = ["rivers", "volcanoes", "bread", "chess", "bees", "comets", "glaciers", "violins", "tides", "deserts",
          "owls", "copper", "clouds", "coral", "maps", "tea"]


def peak_tflops(name: str, given: float | None) -> float | None:
    if given:
        return given
    return next((v for k, v in PEAK_BF16_TFLOPS.items() if k in name), None)


def demonstrations(n: int) -> list[dict]:
    return [{"prompt": f"Write three sentences about {TOPICS[i % len(TOPICS)]} (note {i}).",
             "completion": " ".join([f"Here is a plain fact about {TOPICS[i % len(TOPICS)]}, number {j}." for j in range(6)])}
            for i in range(n)]


def rankings(n: int, k: int = 4) -> list[dict]:
    return [{"prompt": d["prompt"], "responses": [d["completion"][: 60 + 25 * j] for j in range(k)],
             "ranks": list(range(1, k + 1))} for d in demonstrations(n)]


class Clock:
    """on_progress hook: the time of every logged step (log_every=1)."""

    def __init__(self):
        self.times = []

    def __call__(self, step, total, metrics):
        import torch

        torch.cuda.synchronize()
        self.times.append(time.perf_counter())

    def steady_seconds(self) -> tuple[float, int]:
        """(seconds, steps) from the end of step 1 to the end of the last step."""
        return self.times[-1] - self.times[0], len(self.times) - 1


def train_stage(kind, base, work, steps, batch_size, n_params, peak):
    import torch

    from training.engine.data import encode_prompt_answer, sft_example
    from training.engine.device import load_tokenizer
    from training.engine.reward import RMConfig, train_reward_model
    from training.engine.sft import SFTConfig, train_sft

    tok = load_tokenizer(base)
    torch.cuda.reset_peak_memory_stats()
    clock = Clock()
    if kind == "sft":
        data = demonstrations(steps * batch_size)
        tokens = sum(len(sft_example(tok, r, 512)["input_ids"]) for r in data)
        train_sft(base, data, work / "sft", SFTConfig(max_steps=steps, batch_size=batch_size, eval_fraction=0.0,
                                                      mixed_precision="bf16", log_every=1, save_every=10_000,
                                                      max_length=512, bucket=False),
                  on_progress=clock)
    else:
        data = rankings(steps * batch_size)
        tokens = sum(len(encode_prompt_answer(tok, r["prompt"], a, 512)[0]) for r in data for a in r["responses"])
        train_reward_model(base, data, work / "rm", RMConfig(max_steps=steps, batch_size=batch_size, eval_fraction=0.0,
                                                             mixed_precision="bf16", log_every=1, save_every=10_000,
                                                             max_length=512),
                           on_progress=clock)
    seconds, timed_steps = clock.steady_seconds()
    tokens_per_s = tokens * timed_steps / steps / seconds  # every step sees the same number of examples
    out = {"steps": steps, "batch_size": batch_size, "tokens_per_s": tokens_per_s,
           "peak_memory_gib": torch.cuda.max_memory_allocated() / 2**30,
           "model_tflops_per_s": 6 * n_params * tokens_per_s / 1e12}
    out["mfu"] = out["model_tflops_per_s"] / peak if peak else None
    return out


def sampling_stage(base, k, prompts=32, max_new_tokens=64):
    import torch

    from training.engine.sampling import SamplingConfig, sample

    records = [{"text": d["prompt"]} for d in demonstrations(prompts)]
    cfg = SamplingConfig(k=k, max_new_tokens=max_new_tokens, batch_size=prompts, mixed_precision="bf16")
    sample(base, records[:2], None, SamplingConfig(k=k, max_new_tokens=4, mixed_precision="bf16"))  # warm-up
    torch.cuda.synchronize()
    t = time.perf_counter()
    result = sample(base, records, None, cfg)
    torch.cuda.synchronize()
    seconds = time.perf_counter() - t
    generated = result.metrics["mean_answer_tokens"] * result.metrics["answers"]
    return {"k": k, "prompts": prompts, "generated_tokens": generated, "seconds": seconds,
            "tokens_per_s": generated / seconds}


def ddp_stage(base, work, steps, batch_size, one_gpu_tokens_per_s):
    """The same SFT run on 2 GPUs (global batch = batch_size, split in two): wall time of the training steps."""
    spec = work / "ddp.json"
    spec.write_text(json.dumps({"base": str(base), "out": str(work / "sft-ddp"), "steps": steps,
                                "batch_size": batch_size}))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(Path(__file__).resolve()), "--ddp-worker", str(spec)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        return {"error": proc.stderr[-2000:]}
    result = json.loads((work / "sft-ddp" / "ddp_result.json").read_text())
    result["speedup_over_one_gpu"] = result["tokens_per_s"] / one_gpu_tokens_per_s
    return result


def ddp_worker(spec_path):
    import torch

    from training.engine.data import sft_example
    from training.engine.device import load_tokenizer
    from training.engine.sft import SFTConfig, train_sft

    spec = json.loads(Path(spec_path).read_text())
    clock = Clock()
    data = demonstrations(spec["steps"] * spec["batch_size"])
    tok = load_tokenizer(spec["base"])
    tokens = sum(len(sft_example(tok, r, 512)["input_ids"]) for r in data)
    train_sft(spec["base"], data, spec["out"], SFTConfig(max_steps=spec["steps"], batch_size=spec["batch_size"],
                                                         eval_fraction=0.0, mixed_precision="bf16", log_every=1,
                                                         save_every=10_000, max_length=512, bucket=False),
              on_progress=clock)
    if int(os.environ.get("RANK", "0")) == 0:
        seconds, timed = clock.steady_seconds()
        Path(spec["out"], "ddp_result.json").write_text(json.dumps(
            {"gpus": 2, "tokens_per_s": tokens * timed / spec["steps"] / seconds,
             "peak_memory_gib_rank0": torch.cuda.max_memory_allocated() / 2**30}))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--sft-batch-size", type=int, default=32)
    p.add_argument("--rm-batch-size", type=int, default=16, help="rankings per step (K = 4 answers each)")
    p.add_argument("--peak-tflops", type=float, default=None, help="the GPU's dense bf16 peak, TFLOP/s")
    p.add_argument("--work", default=str(ROOT / "var" / "gpu_benchmark"))
    p.add_argument("--ddp-worker", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.ddp_worker:
        ddp_worker(args.ddp_worker)
        return 0

    import torch

    results_dir = ROOT / "benchmarks" / "results"
    results_dir.mkdir(parents=True, exist_ok=True)
    if not torch.cuda.is_available():
        message = "no CUDA GPU on this machine: nothing measured (run this on a GPU machine)"
        print(message)
        (results_dir / "gpu.json").write_text(json.dumps({"gpu": None, "message": message}, indent=2))
        return 0

    from training.engine.smollm2 import convert
    from training.engine.device import load_causal_lm

    name = torch.cuda.get_device_name(0)
    peak = peak_tflops(name, args.peak_tflops)
    base = convert()
    n_params = sum(p.numel() for p in load_causal_lm(base).parameters())
    work = Path(args.work)
    result = {"gpu": name, "gpus": torch.cuda.device_count(), "torch": torch.__version__, "peak_bf16_tflops": peak,
              "model": "SmolLM2-135M-Instruct", "parameters": n_params,
              "flops_formula": "6 * N * tokens (N = all parameters; attention T^2 term left out)"}
    t0 = time.perf_counter()
    result["sft"] = train_stage("sft", base, work, args.steps, args.sft_batch_size, n_params, peak)
    result["rm"] = train_stage("rm", base, work, args.steps, args.rm_batch_size, n_params, peak)
    result["sampling"] = [sampling_stage(base, k) for k in (4, 8)]
    if torch.cuda.device_count() >= 2:
        result["ddp_2gpu_sft"] = ddp_stage(base, work, args.steps, args.sft_batch_size, result["sft"]["tokens_per_s"])
    result["seconds"] = time.perf_counter() - t0
    (results_dir / "gpu.json").write_text(json.dumps(result, indent=2))

    print(f"{name}, {n_params / 1e6:.1f}M parameters, bf16; MFU = 6·N·tokens/s ÷ {peak or '?'} TFLOP/s")
    print(f"{'stage':<14}{'tokens/s':>12}{'peak GiB':>10}{'MFU':>8}")
    for stage in ("sft", "rm"):
        r = result[stage]
        mfu = f"{100 * r['mfu']:.1f}%" if r["mfu"] is not None else "?"
        print(f"{stage:<14}{r['tokens_per_s']:>12,.0f}{r['peak_memory_gib']:>10.2f}{mfu:>8}")
    for r in result["sampling"]:
        print(f"{'sample K=' + str(r['k']):<14}{r['tokens_per_s']:>12,.0f}")
    if "ddp_2gpu_sft" in result:
        r = result["ddp_2gpu_sft"]
        print("2-GPU DDP SFT:", f"{r['tokens_per_s']:,.0f} tokens/s, {r['speedup_over_one_gpu']:.2f}x one GPU"
              if "tokens_per_s" in r else r)
    else:
        print("2-GPU DDP: one GPU only, not run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
