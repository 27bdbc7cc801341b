"""`manage.py import_rankings PATH [--format kwise|hh-rlhf|oasst] [--split rm]`: import a rankings file
(gzip'd or not) in one transaction. A file with any malformed line imports nothing: every bad line is
reported with its number and the command exits with status 1. When it returns, the rankings' pairs
are written, so the data is ready to export."""

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from labeling.errors import DomainError
from labeling.importers import FORMATS, import_rankings
from labeling.models import Split


def printable(text):
    """Text any terminal encoding takes: a path from a non-UTF-8 file system carries lone surrogates."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


class Command(BaseCommand):
    help = "Import rankings: K-wise JSON Lines, Anthropic HH-RLHF or OpenAssistant message trees (.gz accepted)."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--format", choices=FORMATS, help="default: detected from the first line")
        parser.add_argument("--split", choices=Split.values, help="split of the imported prompts (default: the file's, else rm)")

    def handle(self, path, format=None, split=None, **options):
        file = Path(path)
        if not file.is_file():
            raise CommandError(printable(f"no such file: {path}"))
        started = time.monotonic()
        try:
            result = import_rankings(file, format, split, name=printable(file.name))  # stored: valid text
        except DomainError as exc:  # e.g. TooLarge: a gzip that decompresses past the limit
            raise CommandError(printable(f"{path}: {exc}")) from None
        if not result.ok:
            for error in result.errors:
                where = f"line {error['line']}" if error["line"] else "file"
                self.stderr.write(printable(f"{path}: {where}: {error['field']}: {error['message']}"))
            raise CommandError(f"{len(result.errors)} error(s); nothing was imported")
        self.stdout.write(printable(f"imported {result.rankings} rankings ({result.format}) with {result.pairs} pairs "
                          f"in {time.monotonic() - started:.1f}s"))
