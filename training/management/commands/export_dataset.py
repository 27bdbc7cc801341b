"""`manage.py export_dataset --kind sft|pairs|rankings --out PATH`: freeze a snapshot of the current
labels (with optional filters) and copy its JSON Lines file to PATH (`-` for standard output).
`--snapshot ID` exports an existing snapshot instead."""

import json
import shutil
import sys

from django.core.management.base import BaseCommand, CommandError

from labeling.models import Split
from labeling.ranking import RuleError
from training.datasets import freeze_snapshot
from training.models import DatasetSnapshot, SnapshotKind


class Command(BaseCommand):
    help = "Export labels as JSON Lines (sft, pairs or rankings), freezing a snapshot unless --snapshot names one."

    def add_arguments(self, parser):
        parser.add_argument("--kind", choices=SnapshotKind.values)
        parser.add_argument("--out", required=True, help="file to write, or - for standard output")
        parser.add_argument("--snapshot", type=int, help="export this existing snapshot")
        parser.add_argument("--name", default="")
        parser.add_argument("--split", action="append", choices=Split.values, dest="splits", help="repeatable")
        parser.add_argument("--guideline-version", action="append", type=int, dest="guideline_versions")
        parser.add_argument("--min-agreement", type=float)
        parser.add_argument("--exclude-labeler", action="append", dest="exclude_labelers", help="id or username; repeatable")
        parser.add_argument("--include-submitted", action="store_true", help="sft: also unreviewed demonstrations")

    def handle(self, **options):
        if options["snapshot"] is not None:
            snapshot = DatasetSnapshot.objects.filter(pk=options["snapshot"]).first()
            if snapshot is None:
                raise CommandError(f"no snapshot {options['snapshot']}")
            if options["kind"] and options["kind"] != snapshot.kind:
                raise CommandError(f"snapshot {snapshot.id} is of kind {snapshot.kind}, not {options['kind']}")
        else:
            if not options["kind"]:
                raise CommandError("give --kind (or --snapshot ID)")
            filters = {"include_submitted": options["include_submitted"]}
            for name in ("splits", "guideline_versions", "min_agreement"):
                if options[name] is not None:
                    filters[name] = options[name]
            if options["exclude_labelers"]:
                filters["exclude_labelers"] = [int(v) if v.isdigit() else v for v in options["exclude_labelers"]]
            try:
                snapshot = freeze_snapshot(options["kind"], filters, name=options["name"])
            except RuleError as exc:
                raise CommandError(f"{exc.field}: {exc.message}") from None
        try:
            with open(snapshot.file_path, "rb") as source:
                if options["out"] == "-":
                    shutil.copyfileobj(source, sys.stdout.buffer)
                    sys.stdout.flush()
                else:
                    with open(options["out"], "wb") as out:
                        shutil.copyfileobj(source, out)
        except OSError as exc:
            raise CommandError(str(exc)) from None
        self.stderr.write(f"snapshot {snapshot.id} ({snapshot.kind}, sha256 {snapshot.content_hash}): "
                          f"{json.dumps(snapshot.counts)} -> {options['out']}")
