"""One function per job kind: read the job's inputs, call the engine, register what it made. The top
of the job modules: it imports launch (configs, inputs) and execution (Outcome); they never import it.

Each runner gets the job and its RunContext (`on_progress`, `should_stop`, `log`, `output_dir`) and
returns an Outcome. Training runners resume by themselves: the engine restarts from the newest
checkpoint in the output folder. A runner that writes labeling rows does it in one transaction and
only once per job (a re-run finds its rows and reuses them).
"""

import json
import shutil

from django.db import transaction

from training import evaluation, registry
from training.execution import Outcome
from training.job_config import split_config
from training.launch import resolve_inputs, select_prompts, snapshot_path
from training.models import JobKind


def run(job, ctx):
    fields, config = split_config(job.kind, job.config)
    inputs = resolve_inputs(job.kind, fields, job.input_snapshots.all(), job.input_models.all())
    return RUNNERS[job.kind](job, ctx, fields, config, inputs)


def _finish_training(job, ctx, result, parents):
    if result.stopped:
        return Outcome({"steps": result.steps, "total_steps": result.total_steps}, stopped=True)
    model = registry.register_job_output(job, ctx.output_dir, parents=parents, metrics=result.metrics)
    shutil.rmtree(ctx.output_dir / "checkpoints", ignore_errors=True)  # the finished model is the artifact
    ctx.log(f"registered model version {model.pk} ({model.kind}) at {model.artifact_path}")
    return Outcome({"model_version": model.pk, "steps": result.steps, "total_steps": result.total_steps,
                    "metrics": registry._clean(result.metrics)})


def run_bootstrap(job, ctx, fields, config, inputs):
    from training.engine.bootstrap import bootstrap

    texts = list(fields.texts) + snapshot_texts(job.input_snapshots.all())
    if not texts:
        texts = database_texts()
    if not texts:
        raise ValueError("no text to pretrain on: give config.texts, a snapshot, or import prompts first")
    result = bootstrap(ctx.output_dir, texts=texts, config=config, on_progress=ctx.on_progress, should_stop=ctx.should_stop)
    return _finish_training(job, ctx, result, parents=[])


def _train(kind, fields, ctx, config, train, paths):
    """Run a trainer in this process, or on `fields.num_processes` processes under torchrun
    (training/processes.py): `paths` are its inputs, by the train function's argument names."""
    if fields.num_processes > 1:
        from training.processes import run_engine

        return run_engine(kind, fields.num_processes, paths, config, ctx)
    return train(**paths, out_dir=ctx.output_dir, config=config, on_progress=ctx.on_progress,
                 should_stop=ctx.should_stop)


def run_sft(job, ctx, fields, config, inputs):
    from training.engine.sft import train_sft

    result = _train("sft", fields, ctx, config, train_sft,
                    {"model": inputs.model.artifact_path, "data": str(snapshot_path(inputs.data))})
    return _finish_training(job, ctx, result, parents=[inputs.model])


def run_rm(job, ctx, fields, config, inputs):
    from training.engine.reward import train_reward_model

    demonstrations = str(snapshot_path(inputs.demonstrations)) if inputs.demonstrations else None
    result = _train("rm", fields, ctx, config, train_reward_model,
                    {"model": inputs.model.artifact_path, "data": str(snapshot_path(inputs.data)),
                     "demonstrations": demonstrations})
    if fields.ensemble_heads and not result.stopped:
        from training.engine.ensemble import EnsembleConfig, train_ensemble

        # bootstrap heads on the finished RM's frozen backbone, written beside its own head (uncertainty)
        train_ensemble(ctx.output_dir, str(snapshot_path(inputs.data)), ctx.output_dir,
                       EnsembleConfig(heads=fields.ensemble_heads, seed=config.seed, max_length=config.max_length))
        result.metrics["ensemble_heads"] = fields.ensemble_heads
        ctx.log(f"trained {fields.ensemble_heads} bootstrap heads for uncertainty")
    return _finish_training(job, ctx, result, parents=[inputs.model])


def run_ppo(job, ctx, fields, config, inputs):
    from training.engine.ppo import train_ppo

    prompts = prompt_records(select_prompts(fields))
    if fields.num_processes > 1:  # the processes read the prompts from a file
        prompts = write_jsonl(ctx.output_dir / "prompts.jsonl", prompts)
    ptx = str(snapshot_path(inputs.demonstrations)) if inputs.demonstrations else None
    result = _train("ppo", fields, ctx, config, train_ppo,
                    {"policy": inputs.model.artifact_path, "reward_model": inputs.reward_model.artifact_path,
                     "prompts": prompts, "ptx_data": ptx})
    return _finish_training(job, ctx, result, parents=[inputs.model, inputs.reward_model])


def run_dpo(job, ctx, fields, config, inputs):
    from training.engine.dpo import train_dpo

    result = _train("dpo", fields, ctx, config, train_dpo,
                    {"model": inputs.model.artifact_path, "data": str(snapshot_path(inputs.data)),
                     "reference": inputs.reference.artifact_path})
    # lineage: the policy it started from, and the reference when that is another model
    return _finish_training(job, ctx, result, parents={m.pk: m for m in (inputs.model, inputs.reference)}.values())


def run_bon(job, ctx, fields, config, inputs):
    """Best-of-N: sample N answers per prompt, keep the reward model's best; fine-tune on them (unless not asked)."""
    from training.engine.best_of_n import KEPT_FILE, rejection_sampling

    result = rejection_sampling(inputs.model.artifact_path, inputs.reward_model.artifact_path,
                                prompt_records(select_prompts(fields)), ctx.output_dir, config,
                                on_progress=ctx.on_progress, should_stop=ctx.should_stop)
    if config.finetune or result.stopped:
        return _finish_training(job, ctx, result, parents=[inputs.model, inputs.reward_model])
    ctx.log(f"kept the best of {config.n} answers for {result.metrics['prompts']} prompts")
    return Outcome({"answers": str(ctx.output_dir / KEPT_FILE), "metrics": registry._clean(result.metrics)})


def run_sample(job, ctx, fields, config, inputs):
    """K answers per prompt from the model -> Response rows (origin model) -> ranking tasks."""
    from labeling.models import Origin, Response, Task
    from labeling.ranking import create_ranking_task
    from training.engine.sampling import sample

    batch = f"sample-job-{job.pk}"
    existing = Task.objects.filter(batch=batch).count()
    if existing:
        return Outcome({"tasks": existing, "batch": batch, "model_version": inputs.model.pk})
    prompts = {p.pk: p for p in select_prompts(fields)}
    out = sample(inputs.model.artifact_path, prompt_records(prompts.values()), ctx.output_dir / "samples.jsonl", config,
                 on_progress=ctx.on_progress, should_stop=ctx.should_stop)
    if out.stopped:
        return Outcome({"prompts_sampled": len(out.records)}, stopped=True)
    out.records, dedupe = _distinct_answers(out.records, prompts, config, inputs, ctx)
    records, levels, ranked = out.records, [fields.priority] * len(out.records), None
    if fields.order_by_uncertainty:
        from training.uncertainty import priorities, rank_by_uncertainty

        ranked = rank_by_uncertainty(inputs.reward_model.artifact_path, out.records, fields.uncertainty_budget)
        records, levels = [record for record, _ in ranked], priorities(len(ranked), fields.priority)
    with transaction.atomic():
        tasks = []
        for record, priority in zip(records, levels):
            prompt = prompts[record["id"]]
            responses = [Response.objects.create(prompt=prompt, text=text, origin=Origin.MODEL, model_version=inputs.model)
                         for text in record["responses"]]
            task = create_ranking_task(prompt, responses, labelers_required=fields.labelers_required, batch=batch)
            if priority:
                Task.objects.filter(pk=task.pk).update(priority=priority)
            tasks.append(task.pk)
    ctx.log(f"created {len(tasks)} ranking tasks of K={config.k} (batch {batch})")
    result = {"tasks": len(tasks), "batch": batch, "k": config.k, "model_version": inputs.model.pk,
              "metrics": {**out.metrics, **dedupe}}
    if ranked is not None:  # the order handed out, most uncertain first
        result.update(order="uncertainty", prompts_sampled=len(out.records), reward_model=inputs.reward_model.pk,
                      uncertainty=[{"task": t, "uncertainty": u} for t, (_, u) in zip(tasks, ranked)])
    return Outcome(result)


def _distinct_answers(records, prompts, config, inputs, ctx):
    """Storable, different answers per prompt (training/answers.py), sampling duplicates again with
    another seed; a prompt left with fewer than two different answers gets no task."""
    import dataclasses

    from labeling.models import MIN_K
    from training.answers import distinct_answers
    from training.engine.sampling import sample

    def resample(ids, round_):
        again = dataclasses.replace(config, seed=config.seed + 7919 * round_)
        return sample(inputs.model.artifact_path, prompt_records([prompts[i] for i in ids]), None, again,
                      should_stop=ctx.should_stop).records

    records, stats = distinct_answers(records, config.k, resample)
    kept = [r for r in records if len(r["responses"]) >= MIN_K]
    stats["prompts_without_two_answers"] = len(records) - len(kept)
    if stats["duplicate_answers"]:
        ctx.log("identical answers: {duplicate_answers}; prompts sampled again: {resampled_prompts}; tasks with "
                "fewer than K answers: {tasks_with_fewer_answers}; prompts left out: {prompts_without_two_answers}".format(**stats))
    return kept, stats


def run_evaluate(job, ctx, fields, config, inputs):
    if fields.mode == "rm_accuracy":
        metrics = evaluation.reward_model_accuracy(inputs.reward_model.artifact_path, snapshot_path(inputs.data))
        ctx.on_progress(1, 1, metrics)
        rm = inputs.reward_model
        rm.metrics = {**rm.metrics, f"accuracy_on_snapshot_{inputs.data.pk}": metrics["accuracy"]}
        rm.save(update_fields=["metrics"])  # so model versions compare side by side in the registry
        return Outcome({"mode": fields.mode, "judge": inputs.reward_model.pk, "snapshot": inputs.data.pk, **metrics})

    from labeling.models import Task
    from training.engine.sampling import sample

    batch = f"compare-job-{job.pk}"
    orientation = {"mode": fields.mode, "candidate": inputs.candidate.pk, "baseline": inputs.baseline.pk}
    if fields.mode == "human_comparison" and Task.objects.filter(batch=batch).exists():
        return Outcome({**orientation, "tasks": Task.objects.filter(batch=batch).count(), "batch": batch})
    prompts = {p.pk: p for p in select_prompts(fields)}
    records = prompt_records(prompts.values())
    config.k = 1
    answers = {}
    for i, model in enumerate((inputs.candidate, inputs.baseline)):
        out = sample(model.artifact_path, records, None, config, should_stop=ctx.should_stop)
        if out.stopped:
            return Outcome(orientation, stopped=True)
        answers[model.pk] = {r["id"]: r["responses"][0] for r in out.records}
        ctx.on_progress(i + 1, 2, {"answers": len(out.records)})
    ids = list(prompts)
    if fields.mode == "reward_win_rate":
        summary = evaluation.reward_judged([prompts[i].messages for i in ids],
                                           [answers[inputs.candidate.pk][i] for i in ids],
                                           [answers[inputs.baseline.pk][i] for i in ids],
                                           inputs.reward_model.artifact_path)
        ctx.log("win rate {win_rate:.3f} [{ci_low:.3f}, {ci_high:.3f}] over {n} prompts".format(**summary))
        return Outcome({**orientation, "judge": inputs.reward_model.pk, **summary})
    tasks = evaluation.create_comparison_tasks(
        [(prompts[i], answers[inputs.candidate.pk][i], answers[inputs.baseline.pk][i]) for i in ids],
        inputs.candidate, inputs.baseline, labelers_required=fields.labelers_required, batch=batch, seed=job.pk)
    ctx.log(f"created {len(tasks)} side-by-side comparison tasks (batch {batch})")
    return Outcome({**orientation, "tasks": len(tasks), "batch": batch})


RUNNERS = {
    JobKind.BOOTSTRAP: run_bootstrap,
    JobKind.SFT: run_sft,
    JobKind.RM: run_rm,
    JobKind.PPO: run_ppo,
    JobKind.SAMPLE: run_sample,
    JobKind.EVALUATE: run_evaluate,
    JobKind.DPO: run_dpo,
    JobKind.BON: run_bon,
}


# ---- inputs from the database --------------------------------------------------------------------


def prompt_records(prompts):
    return [{"id": p.pk, "prompt": p.messages, "category": p.category, "split": p.split} for p in prompts]


def write_jsonl(path, records) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in records)
    return str(path)


def snapshot_texts(snapshots):
    from training.engine.data import load_records

    texts = []
    for snapshot in snapshots:
        for record in load_records(str(snapshot_path(snapshot))):
            texts.append(record_text(record))
    return [t for t in texts if t]


def record_text(record):
    """Plain text of a SPEC record (prompt turns and answers), for pretraining a bootstrap model."""
    parts = []

    def add(value):
        if isinstance(value, str):
            parts.append(value)
        elif isinstance(value, list):
            for item in value:
                add(item.get("content", "") if isinstance(item, dict) else item)

    for key in ("text", "prompt", "completion", "chosen", "rejected", "responses"):
        if key in record:
            add(record[key])
    return "\n".join(p for p in parts if p)


def database_texts():
    from labeling.models import Demonstration, Prompt

    texts = [p.text for p in Prompt.objects.only("text")]
    texts += [d.text for d in Demonstration.objects.only("text")]
    return [t for t in texts if t]
