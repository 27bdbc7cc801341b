"""Sample K answers per prompt from a model and turn them into ranking tasks for labelers:
`manage.py sample --model 4 --split rm --limit 100 --k 4 --follow`."""

from django.core.management.base import BaseCommand

from training.management.commands._jobcli import add_launch_arguments, launch


class Command(BaseCommand):
    help = "Launch a sampling job: K answers per prompt -> Response rows -> ranking tasks."

    def add_arguments(self, parser):
        parser.add_argument("--prompt", action="append", type=int, default=[], metavar="ID", help="a prompt id (repeatable)")
        parser.add_argument("--split", help="all prompts of this split (when no --prompt)")
        parser.add_argument("--limit", type=int, help="at most this many prompts")
        parser.add_argument("--k", type=int, help="answers per prompt (2..9)")
        parser.add_argument("--labelers", type=int, dest="labelers_required", help="labelers per ranking task")
        add_launch_arguments(parser)

    def handle(self, *args, **options):
        extra = {"prompt_ids": options["prompt"] or None, "split": options["split"], "limit": options["limit"],
                 "k": options["k"], "labelers_required": options["labelers_required"]}
        launch(self, "sample", options, extra)
