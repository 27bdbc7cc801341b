"""The RLHF loop of the experiment, stage by stage, on the training engine.

bootstrap → demonstrations → SFT → K samples per RM prompt → rankings by simulated labelers (overlap:
``labelers_per_task`` rank the same task, so agreement is measured) → reward model → PPO and PPO-ptx; beside
them, from the same SFT model and the same labels: DPO and listwise (Plackett–Luce) DPO straight from the
rankings, and best-of-N (N = K) rejection sampling against the same reward model → gold evaluation. ``Sizes`` holds every size; ``FULL`` is the documented run, ``TINY`` the one in the
test suite. Each stage writes a Hugging Face directory under the run folder and is skipped when its
directory is already complete, so an interrupted run picks up where it stopped.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from . import corpus, evaluate, gold


@dataclass(frozen=True)
class Sizes:
    pretraining_dialogues: int = 3000
    pretraining_paragraphs: int = 600
    n_layer: int = 2
    n_embd: int = 96
    bootstrap_steps: int = 600
    sft_prompts: int = 60             # of the 60 in the sft split
    sft_epochs: int = 4
    rm_prompts: int = 60              # of the 60 in the rm split
    k: int = 6                        # answers per ranking task (the issue: 4..6)
    sample_rounds: int = 3            # ranking tasks per RM prompt, each from its own sampling seed
    labelers_per_task: int = 2        # overlap: every task ranked by this many labelers
    rm_epochs: int = 3
    rm_learning_rate: float = 3e-4
    ppo_iterations: int = 40
    ppo_batch_size: int = 16
    ppo_learning_rate: float = 3e-4
    kl_coef: float = 0.05             # β at the start; the adaptive controller steers KL toward target_kl
    target_kl: float = 6.0            # nats per answer (0: constant β)
    kl_horizon: int = 64
    ptx_coef: float = 1.0
    ptx_mix: str = "pretraining"      # PPO-ptx's LM data: "pretraining" text (as InstructGPT), "demonstrations" or "both"
    max_new_tokens: int = 48
    eval_prompts: int = 60            # of the 60 in the eval split
    eval_samples: int = 4             # answers per eval prompt and model
    kl_bound: float = 10.0            # nats per answer: the "configured bound" PPO's KL must stay under
    dpo_epochs: int = 2               # DPO and listwise DPO over the same rankings the RM trained on
    dpo_learning_rate: float = 1e-4
    dpo_beta: float = 0.1
    bon_epochs: int = 2               # rejection sampling: SFT epochs on the best of N = K answers per PPO prompt


FULL = Sizes()
TINY = replace(FULL, pretraining_dialogues=300, pretraining_paragraphs=60, n_layer=1, n_embd=32,
               bootstrap_steps=30, sft_prompts=12, sft_epochs=1, rm_prompts=8, k=4, sample_rounds=1, rm_epochs=1, ppo_iterations=2,
               ppo_batch_size=4, max_new_tokens=12, eval_prompts=6, eval_samples=1, dpo_epochs=1, bon_epochs=1)


def split(name: str, n: int) -> list[dict]:
    return [p for p in corpus.prompts() if p["split"] == name][:n]


def _done(path: Path) -> bool:
    return (path / "config.json").exists()


class Loop:
    """Runs the stages into ``out`` and collects timings and results."""

    def __init__(self, out, sizes: Sizes = FULL, log=print):
        self.out, self.sizes, self.log = Path(out), sizes, log
        self.out.mkdir(parents=True, exist_ok=True)
        self.timings: dict[str, float] = {}
        self.facts: dict = {}

    def timed(self, name, fn, *args, **kwargs):
        start = time.monotonic()
        result = fn(*args, **kwargs)
        self.timings[name] = round(time.monotonic() - start, 1)
        self.log(f"{name}: {self.timings[name]} s")
        return result

    # ---- stages -----------------------------------------------------------------------------------

    def bootstrap(self):
        from training.engine.bootstrap import BootstrapConfig, bootstrap

        s, path = self.sizes, self.out / "base"
        if _done(path):
            return path
        config = BootstrapConfig(n_layer=s.n_layer, n_embd=s.n_embd, n_head=4, block_size=96, context_length=256,
                                 max_steps=s.bootstrap_steps, batch_size=16, learning_rate=3e-3, warmup_steps=30,
                                 log_every=50, save_every=100_000)
        texts = corpus.pretraining_texts(s.pretraining_dialogues, s.pretraining_paragraphs)
        self.timed("bootstrap", bootstrap, path, texts=texts, config=config)
        return path

    def demonstrations(self) -> list[dict]:
        """One demonstration per SFT prompt, written by simulated labelers in the demonstration style."""
        return [{"prompt": p["text"], "completion": corpus.demonstration(p, seed=i)}
                for i, p in enumerate(split("sft", self.sizes.sft_prompts))]

    def sft(self, base, demos):
        from training.engine.sft import SFTConfig, train_sft

        path = self.out / "sft"
        if not _done(path):
            config = SFTConfig(epochs=self.sizes.sft_epochs, batch_size=16, learning_rate=1e-3, max_length=256,
                               eval_fraction=0.1, log_every=10, save_every=100_000)
            self.timed("sft", train_sft, base, demos, path, config)
        return path

    def sample_rm_answers(self, sft) -> list[dict]:
        from training.engine.sampling import SamplingConfig, sample

        prompts = [{"text": p["text"]} for p in split("rm", self.sizes.rm_prompts)]
        records = []
        for seed in range(3, 3 + self.sizes.sample_rounds):
            config = SamplingConfig(k=self.sizes.k, max_new_tokens=self.sizes.max_new_tokens, batch_size=16, seed=seed)
            records += self.timed(f"sample_{seed - 2}", sample, sft, prompts, config=config).records
        return records

    def rank(self, sampled: list[dict]) -> list[dict]:
        """Every task ranked by ``labelers_per_task`` simulated labelers; noise calibrated to 73% agreement."""
        scores = [[gold.gold_score(r["prompt"], a) for a in r["responses"]] for r in sampled]
        sigma = gold.calibrate_noise(scores)
        labelers = [gold.SimulatedLabeler(sigma, seed=100 + i) for i in range(self.sizes.labelers_per_task)]
        rankings, same, compared = [], 0, 0
        for record in sampled:
            ranks = [lab.rank(record["prompt"], record["responses"]) for lab in labelers]
            for i in range(len(ranks)):
                for j in range(i + 1, len(ranks)):
                    a, b = gold.pairwise_agreement(ranks[i], ranks[j])
                    same, compared = same + a, compared + b
            rankings += [{"prompt": record["prompt"], "responses": record["responses"], "ranks": r} for r in ranks]
        self.facts.update(labeler_noise_sigma=round(sigma, 3), labeler_agreement=same / max(compared, 1),
                          agreement_pairs=compared, rankings=len(rankings))
        self.log(f"labelers: σ={sigma:.3f}, agreement {same / max(compared, 1):.3f} on {compared} pairs")
        return rankings

    def reward_model(self, sft, rankings, demos):
        from training.engine.reward import RMConfig, train_reward_model

        path = self.out / "rm"
        if not (path / "reward_head.safetensors").exists():
            config = RMConfig(epochs=self.sizes.rm_epochs, batch_size=8, learning_rate=self.sizes.rm_learning_rate,
                              max_length=256, eval_fraction=0.1, log_every=10, save_every=100_000)
            result = self.timed("reward_model", train_reward_model, sft, rankings, path, config, demonstrations=demos)
            self.facts["rm_heldout_labeler_accuracy"] = result.metrics.get("eval_pair_accuracy")
        return path

    def ppo(self, sft, rm, demos, name: str, ptx_coef: float):
        from training.engine.ppo import PPOConfig, train_ppo

        s, path = self.sizes, self.out / name
        if not _done(path):
            config = PPOConfig(iterations=s.ppo_iterations, batch_size=s.ppo_batch_size,
                               mini_batch_size=min(8, s.ppo_batch_size), ppo_epochs=4,
                               learning_rate=s.ppo_learning_rate, max_new_tokens=s.max_new_tokens, kl_coef=s.kl_coef,
                               adaptive_kl=s.target_kl > 0, target_kl=s.target_kl or 6.0, kl_horizon=s.kl_horizon,
                               ptx_coef=ptx_coef, ptx_batch_size=8, log_every=5, save_every=100_000)
            prompts = [{"text": p["text"]} for p in corpus.prompts() if p["split"] == "ppo"]
            self.timed(name, train_ppo, sft, rm, prompts, path, config, ptx_data=self.ptx_data(demos) if ptx_coef > 0 else None)
        return path

    def dpo(self, sft, rankings, name: str, loss: str):
        """DPO (pairwise) or listwise DPO from the SFT model on the labelers' rankings: no reward model."""
        from training.engine.dpo import DPOConfig, train_dpo

        s, path = self.sizes, self.out / name
        if not _done(path):
            config = DPOConfig(loss=loss, beta=s.dpo_beta, epochs=s.dpo_epochs, batch_size=8,
                               learning_rate=s.dpo_learning_rate, max_length=256, eval_fraction=0.0, log_every=10,
                               save_every=100_000)
            self.timed(name, train_dpo, sft, rankings, path, config)
        return path

    def best_of_n(self, sft, rm, name: str = "best_of_n"):
        """Rejection sampling: N = K answers per PPO prompt, the reward model keeps one, SFT on those."""
        from training.engine.best_of_n import BoNConfig, rejection_sampling

        s, path = self.sizes, self.out / name
        if not _done(path):
            config = BoNConfig(n=s.k, max_new_tokens=s.max_new_tokens, sample_batch_size=16, epochs=s.bon_epochs,
                               batch_size=16, learning_rate=1e-3, max_length=256, log_every=10, save_every=100_000)
            prompts = [{"text": p["text"]} for p in corpus.prompts() if p["split"] == "ppo"]
            self.timed(name, rejection_sampling, sft, rm, prompts, path, config)
        return path

    def ptx_data(self, demos):
        """The pretraining mix: the base model's own text (InstructGPT mixed in its pretraining data),
        the demonstrations, or both. Demonstrations alone are few and get memorised."""
        from training.engine.data import load_records

        s = self.sizes
        text = [{"text": t} for t in corpus.pretraining_texts(s.pretraining_dialogues, s.pretraining_paragraphs)]
        return {"pretraining": text, "demonstrations": demos, "both": text + load_records(demos)}[s.ptx_mix]

    # ---- evaluation -------------------------------------------------------------------------------

    def evaluate(self, models: dict, rm, heldout_demos: list[dict]) -> dict:
        s = self.sizes
        prompts = split("eval", s.eval_prompts)
        answers = {name: evaluate.answers_by_prompt(path, prompts, s.eval_samples, seed=11,
                                                    max_new_tokens=s.max_new_tokens) for name, path in models.items()}
        results = {"models": {}}
        for name, path in models.items():
            row = {"gold": evaluate.gold_profile(prompts, answers[name]),
                   "demo_lm_loss": evaluate.demo_lm_loss(path, heldout_demos)}
            if name != "sft":
                row["win_vs_sft"] = evaluate.win_rate(prompts, answers[name], answers["sft"])
            if name != "base":
                row.update(evaluate.policy_stats(path, models["sft"], rm, prompts, s.max_new_tokens))
            results["models"][name] = row
        results["rm_gold_accuracy"] = evaluate.rm_gold_accuracy(
            rm, prompts, [a + b for a, b in zip(answers["sft"], answers["base"])])
        return results

    def run(self) -> dict:
        start = time.monotonic()
        base = self.bootstrap()
        demos = self.demonstrations()
        sft = self.sft(base, demos)
        rankings = self.rank(self.sample_rm_answers(sft))
        rm = self.reward_model(sft, rankings, demos)
        models = {"base": base, "sft": sft, "ppo": self.ppo(sft, rm, demos, "ppo", 0.0),
                  "ppo_ptx": self.ppo(sft, rm, demos, "ppo_ptx", self.sizes.ptx_coef),
                  "dpo": self.dpo(sft, rankings, "dpo", "pairwise"), "listwise": self.dpo(sft, rankings, "listwise", "listwise"),
                  "best_of_n": self.best_of_n(sft, rm)}
        heldout = [{"prompt": p["text"], "completion": corpus.demonstration(p, seed=10_000 + i)}
                   for i, p in enumerate(split("eval", self.sizes.eval_prompts))]
        results = self.timed("evaluate", self.evaluate, models, rm, heldout)
        results["timings_s"] = {**self.timings, "total": round(time.monotonic() - start, 1)}
        results["facts"] = self.facts
        results["sizes"] = asdict(self.sizes)
        results["targets"] = targets(results, self.sizes)
        (self.out / "results.json").write_text(json.dumps(results, indent=2))
        return results


def targets(results: dict, sizes: Sizes) -> dict:
    """The issue's targets: (what was measured, met?)."""
    m = results["models"]
    acc = results["rm_gold_accuracy"]["accuracy"]
    ppo_win, ppo_kl = m["ppo"]["win_vs_sft"]["win_rate"], m["ppo"]["kl_to_sft"]
    sft_loss, ptx_loss = m["sft"]["demo_lm_loss"], m["ppo_ptx"]["demo_lm_loss"]
    agreement = results["facts"]["labeler_agreement"]
    return {
        "rm_accuracy": (f"RM accuracy against gold on held-out pairs {acc:.1%} (target ≥ 80%)", acc >= 0.80),
        "ppo_wins": (f"PPO wins against SFT {ppo_win:.1%} (target ≥ 65%) with KL {ppo_kl:.2f} nats "
                     f"(bound {sizes.kl_bound})", ppo_win >= 0.65 and ppo_kl <= sizes.kl_bound),
        "ptx_lm_loss": (f"PPO-ptx LM loss on demonstrations {ptx_loss:.3f} vs SFT {sft_loss:.3f} "
                        f"({ptx_loss / sft_loss - 1:+.1%}; target within 10%)", ptx_loss <= 1.10 * sft_loss),
        "agreement": (f"labeler agreement {agreement:.1%} (InstructGPT ≈ 73%)", abs(agreement - 0.73) <= 0.05),
        **dpo_targets(results),
    }


def dpo_targets(results: dict) -> dict:
    """Listwise ≥ pairwise DPO at comparable KL; the DPO family within 5 points of PPO in under a third of its time."""
    m, t = results["models"], results.get("timings_s", {})
    if "dpo" not in m or "listwise" not in m:
        return {}
    win = {n: m[n]["win_vs_sft"]["win_rate"] for n in ("ppo", "dpo", "listwise")}
    best = max(("dpo", "listwise"), key=lambda n: win[n])
    time_ratio = t.get(best, 0) / max(t.get("ppo", 0), 1e-9)
    return {
        "listwise_vs_dpo": (f"listwise wins {win['listwise']:.1%} (KL {m['listwise']['kl_to_sft']:.2f}) vs DPO "
                            f"{win['dpo']:.1%} (KL {m['dpo']['kl_to_sft']:.2f})", win["listwise"] >= win["dpo"]),
        "dpo_vs_ppo": (f"best of the DPO family ({best}) {win[best]:.1%} vs PPO {win['ppo']:.1%} (target within 5 "
                       f"points) in {time_ratio:.0%} of PPO's training time (target under a third)",
                       win[best] >= win["ppo"] - 0.05 and time_ratio < 1 / 3),
    }
