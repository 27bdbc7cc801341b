"""List, follow and cancel jobs from the terminal: `manage.py jobs`, `manage.py jobs --follow 12`,
`manage.py jobs --cancel 12`."""

from django.core.management.base import BaseCommand, CommandError

from training import jobs as job_rules
from training.management.commands._jobcli import follow
from training.models import Job, JobKind, JobState


class Command(BaseCommand):
    help = "List jobs, follow one with a progress bar, or cancel one."

    def add_arguments(self, parser):
        parser.add_argument("--state", choices=JobState.values)
        parser.add_argument("--kind", choices=JobKind.values)
        parser.add_argument("--limit", type=int, default=20)
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--follow", type=int, metavar="ID", help="show a progress bar until the job finishes")
        group.add_argument("--cancel", type=int, metavar="ID")

    def handle(self, *args, **options):
        if options["follow"]:
            return self.get(options["follow"]) and follow(self, options["follow"]) and None
        if options["cancel"]:
            try:
                job = job_rules.cancel(self.get(options["cancel"]))
            except job_rules.JobError as exc:
                raise CommandError(exc.message)
            self.stdout.write(f"job {job.pk}: {job.state}" + (" (stop requested)" if job.state == JobState.RUNNING else ""))
            return
        queryset = Job.objects.all()
        if options["state"]:
            queryset = queryset.filter(state=options["state"])
        if options["kind"]:
            queryset = queryset.filter(kind=options["kind"])
        self.stdout.write(f"{'id':>5}  {'kind':<9} {'state':<10} {'progress':>8}  {'attempts':>8}  {'worker':<24} name")
        for job in queryset[:options["limit"]]:
            self.stdout.write(f"{job.pk:>5}  {job.kind:<9} {job.state:<10} {100 * job.progress:7.1f}%  {job.attempts:>8}  "
                              f"{job.worker_host[:24]:<24} {job.name}")

    def get(self, pk):
        job = Job.objects.filter(pk=pk).first()
        if job is None:
            raise CommandError(f"no job {pk}")
        return job
