"""Best-of-N: sample N answers per prompt from a policy, keep the one the reward model scores highest.

    y* = argmax_{i=1..N} r_θ(x, y_i),   y_i ~ π(·|x)

Two uses:
- **rejection-sampling fine-tuning** (Llama 2, Touvron et al. 2023, §3.2.3): the kept answers become
  demonstrations {"prompt", "completion": y*} and the policy is fine-tuned on them with the SFT loss
  (``sft.train_sft``); ``rejection_sampling`` does both and saves the new policy.
- **best-of-N at inference**, an evaluation baseline that needs no training: ``best_of_n`` returns the kept
  answer of every prompt (with all N answers and their rewards), ``evaluate_best_of_n`` the mean reward of the
  kept answers next to the mean over all N (what plain sampling gets).

Sampling is ``sampling.sample`` (each prompt repeated N times in one ``generate`` call, seeded, reproducible);
the reward model reads (prompt, answer) text with its own tokenizer, so it need not share the policy's.
Ties in reward keep the first answer. Resume: the kept answers are written to ``<out>/best_of_n.jsonl`` before
fine-tuning starts; a rerun on the same folder reuses them and the SFT step resumes from its checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .config import ConfigError, TrainResult, check_common, check_positive, check_range
from .data import PROMPTS, load_records, read_jsonl, write_jsonl

KEPT_FILE = "best_of_n.jsonl"


@dataclass
class BoNConfig:
    n: int = 4                    # answers sampled per prompt (the experiment uses N = K)
    finetune: bool = True         # False: only write the kept answers (best-of-N at inference)
    max_new_tokens: int = 64
    temperature: float = 1.0
    top_p: float = 1.0
    sample_batch_size: int = 8    # prompts per generate call (each repeated n times)
    max_prompt_length: int = 512
    # fine-tuning on the kept answers (the SFT step)
    epochs: int = 1
    max_steps: int = 0            # 0: run `epochs` epochs
    batch_size: int = 8
    learning_rate: float = 1e-5
    weight_decay: float = 0.0
    warmup_steps: int = 0
    max_grad_norm: float = 1.0
    max_length: int = 512
    seed: int = 0
    log_every: int = 10
    save_every: int = 100
    mixed_precision: str = "no"
    lora_r: int = 0               # LoRA rank (0: train all weights)
    lora_alpha: float = 16.0
    lora_dropout: float = 0.0
    lora_target_modules: str = ""

    def __post_init__(self):
        check_common(self)
        for name in ("n", "max_new_tokens", "sample_batch_size", "max_prompt_length"):
            check_positive(name, getattr(self, name))
        check_positive("temperature", self.temperature)
        check_range("top_p", self.top_p, 0.0, 1.0, low_open=True)

    def sampling(self):
        from .sampling import SamplingConfig

        return SamplingConfig(k=self.n, max_new_tokens=self.max_new_tokens, do_sample=True,
                              temperature=self.temperature, top_p=self.top_p, batch_size=self.sample_batch_size,
                              max_prompt_length=self.max_prompt_length, seed=self.seed,
                              mixed_precision=self.mixed_precision)

    def sft(self):
        from .sft import SFTConfig

        fields = ("epochs", "max_steps", "batch_size", "learning_rate", "weight_decay", "warmup_steps",
                  "max_grad_norm", "max_length", "seed", "log_every", "save_every", "mixed_precision",
                  "lora_r", "lora_alpha", "lora_dropout", "lora_target_modules")
        return SFTConfig(eval_fraction=0.0, **{f: getattr(self, f) for f in fields})


def argmax(scores: list[float]) -> int:
    """Index of the highest score (the first one on a tie)."""
    return max(range(len(scores)), key=lambda i: (scores[i], -i))


def best_of_n(policy, reward_model, prompts, config: BoNConfig | None = None, on_progress=None,
              should_stop=None) -> tuple[list[dict], bool]:
    """(records {"prompt", "completion": kept answer, "responses", "rewards", "best"}, stopped).

    ``policy`` and ``reward_model`` are directories, or an (lm, tokenizer) pair and a loaded ``RewardModel``.
    """
    from .reward import RewardModel, load_reward_model
    from .sampling import sample

    config = config or BoNConfig()
    records = load_records(prompts, PROMPTS)
    if not records:
        raise ConfigError("prompts", "no prompts to sample from")
    rm = reward_model if isinstance(reward_model, RewardModel) else load_reward_model(reward_model)
    sampled = sample(policy, records, None, config.sampling(), on_progress=on_progress, should_stop=should_stop)
    out = []
    for rec in sampled.records:
        rewards = rm.score([(rec["prompt"], answer) for answer in rec["responses"]])
        best = argmax(rewards)
        kept = {"prompt": rec["prompt"], "completion": rec["responses"][best], "responses": rec["responses"],
                "rewards": rewards, "best": best}
        kept.update({k: rec[k] for k in ("id", "category", "split") if k in rec})
        out.append(kept)
    return out, sampled.stopped


def summarise(kept: list[dict]) -> dict:
    """Mean reward of the kept answers and of all N (plain sampling's expectation)."""
    n = max(len(kept), 1)
    every = [r for k in kept for r in k["rewards"]]
    return {"prompts": len(kept), "best_of_n_reward": sum(k["rewards"][k["best"]] for k in kept) / n,
            "mean_reward": sum(every) / max(len(every), 1),
            "kept_answer_words": sum(len(k["completion"].split()) for k in kept) / n}


def evaluate_best_of_n(policy, reward_model, prompts, n: int = 4, **sampling) -> dict:
    """Best-of-N at inference, as an evaluation baseline: reward statistics and the kept answers."""
    kept, _ = best_of_n(policy, reward_model, prompts, BoNConfig(n=n, finetune=False, **sampling))
    return {**{f"eval_{k}": v for k, v in summarise(kept).items()}, "answers": kept}


def rejection_sampling(policy, reward_model, prompts, out_dir, config: BoNConfig | None = None, on_progress=None,
                       should_stop=None) -> TrainResult:
    """Sample N answers per prompt, keep the RM's best, fine-tune ``policy`` on them (unless ``finetune`` is off)."""
    from .sft import train_sft

    config = config or BoNConfig()
    out_dir = Path(out_dir)
    kept_path = out_dir / KEPT_FILE
    if kept_path.exists():  # a resumed run: the answers were kept before fine-tuning started
        kept = read_jsonl(kept_path)
    else:
        kept, stopped = best_of_n(policy, reward_model, prompts, config, on_progress, should_stop)
        if stopped:
            return TrainResult(str(out_dir), {"prompts_sampled": len(kept)}, 0, 0, True)
        tmp = kept_path.with_suffix(".tmp")
        write_jsonl(tmp, kept)
        tmp.replace(kept_path)  # complete or absent: a half-written file is never reused
    metrics = summarise(kept)
    if not config.finetune:
        return TrainResult(str(out_dir), metrics, len(kept), len(kept), False)
    demonstrations = [{"prompt": k["prompt"], "completion": k["completion"]} for k in kept]
    result = train_sft(policy, demonstrations, out_dir, config.sft(), on_progress=on_progress,
                       should_stop=should_stop)
    result.metrics = {**metrics, **result.metrics}
    return result


__all__ = ["BoNConfig", "best_of_n", "rejection_sampling", "evaluate_best_of_n", "argmax", "KEPT_FILE"]
