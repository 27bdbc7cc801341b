"""Launch a training job: `manage.py train sft --model 3 --snapshot 7 --set learning_rate=5e-5 --follow`.

Kinds: bootstrap (a tiny base model from text), sft, rm, ppo. The config is checked against the
engine's config before the job is queued; --inline runs it in this process instead of on a worker."""

from django.core.management.base import BaseCommand

from training.management.commands._jobcli import add_launch_arguments, launch


class Command(BaseCommand):
    help = "Launch a bootstrap, SFT, reward-model or PPO job (queued on the gpu queue, or --inline)."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=["bootstrap", "sft", "rm", "ppo"])
        parser.add_argument("--text", action="append", default=[], help="bootstrap: a pretraining text (repeatable)")
        add_launch_arguments(parser)

    def handle(self, *args, **options):
        extra = {"texts": options["text"]} if options["text"] else None
        launch(self, options["kind"], options, extra)
