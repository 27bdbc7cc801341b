"""Import prompts from a JSON Lines or CSV file: `manage.py import_prompts PATH [--format jsonl|csv]`.

All or nothing, with the same parser and rules as POST /api/prompts/import/: if any line is bad,
every bad line is printed (line, field, message), nothing is imported and the command exits non-zero."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from labeling.models import Category, Split
from labeling.management.commands.import_rankings import printable
from labeling.prompt_import import FORMATS, decode, guess_format, import_prompts
from labeling.ranking import RuleError

MAX_ERRORS_SHOWN = 50


class Command(BaseCommand):
    help = "Import prompts from a JSON Lines or CSV file (all or nothing, errors listed per line)."

    def add_arguments(self, parser):
        parser.add_argument("path", help="A .jsonl or .csv file ('-' is not supported: give a path).")
        parser.add_argument("--format", choices=FORMATS, help="Default: from the file name (.csv) or jsonl.")
        parser.add_argument("--split", choices=Split.values, help="For lines that don't give one (default rm).")
        parser.add_argument("--category", choices=Category.values, help="For lines that don't give one (default other).")
        parser.add_argument("--source", help="For lines that don't give one (default: the file name).")

    def handle(self, path, format=None, split=None, category=None, source=None, **options):
        file = Path(path)
        if not file.is_file():
            raise CommandError(printable(f"{path}: no such file"))
        try:
            content = decode(file.read_bytes())
        except RuleError as exc:
            raise CommandError(printable(f"{path}: {exc.message}")) from None
        defaults = {"split": split, "category": category, "source": source if source is not None else printable(file.name)}
        result = import_prompts(content, format or guess_format(file.name), defaults)
        if result.errors:
            for error in result.errors[:MAX_ERRORS_SHOWN]:
                self.stderr.write(printable(f"{path}:{error['line']}: {error['field']}: {error['message']}"))
            more = len(result.errors) - MAX_ERRORS_SHOWN
            if more > 0:
                self.stderr.write(f"... and {more} more bad lines")
            raise CommandError(printable(f"{len(result.errors)} bad line(s) in {path}; nothing was imported"))
        self.stdout.write(self.style.SUCCESS(printable(f"imported {result.created} prompts from {path}")))
