"""`manage.py export_dataset --kind sft|pairs|rankings --out PATH`: freeze a snapshot of the current
labels (with optional filters) and copy its JSON Lines file to PATH (`-` for standard output).
`--snapshot ID` exports an existing snapshot instead."""

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

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
        out = None if options["out"] == "-" else self.open_destination(options["out"])
        try:
            snapshot = self.snapshot(options)
            self.copy(snapshot, out, options["out"])
        finally:
            if out is not None and not out.closed:
                out.close()
                Path(out.name).unlink(missing_ok=True)
        self.stderr.write(f"snapshot {snapshot.id} ({snapshot.kind}, sha256 {snapshot.content_hash}): "
                          f"{json.dumps(snapshot.counts)} -> {options['out']}")

    @staticmethod
    def open_destination(path):
        """A temporary file beside PATH, opened before anything is frozen: a destination that can't be
        written fails here, leaving no snapshot behind. It is renamed onto PATH once written."""
        target = Path(path)
        if target.is_dir():
            raise CommandError(f"{path}: is a directory; give a file name")
        try:
            return tempfile.NamedTemporaryFile("wb", dir=target.parent, prefix=f".{target.name}.", suffix=".part",
                                               delete=False)
        except OSError as exc:
            raise CommandError(f"cannot write {path}: {exc.strerror or exc}") from None

    @staticmethod
    def copy(snapshot, out, path):
        try:
            with open(snapshot.file_path, "rb") as source:
                if out is None:
                    shutil.copyfileobj(source, sys.stdout.buffer)
                    sys.stdout.flush()
                    return
                shutil.copyfileobj(source, out)
            out.close()
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(out.name, 0o666 & ~umask)  # as a plain open() would have made it, not the temp file's 0600
            os.replace(out.name, path)
        except OSError as exc:
            raise CommandError(str(exc)) from None

    def snapshot(self, options):
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
        return snapshot
