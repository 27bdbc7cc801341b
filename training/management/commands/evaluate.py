"""Evaluate models: `manage.py evaluate rm_accuracy --model 5 --snapshot 9`,
`manage.py evaluate reward_win_rate --candidate 6 --baseline 4 --judge 5 --split eval`,
`manage.py evaluate human_comparison --candidate 6 --baseline 4` (side-by-side tasks for labelers),
`manage.py evaluate table` (the win-rate table so far)."""

from django.core.management.base import BaseCommand

from training.evaluation import win_rate_table
from training.jobs import EVALUATION_MODES
from training.management.commands._jobcli import add_launch_arguments, launch


def pct(x):
    return "   —  " if x is None else f"{100 * x:5.1f}%"


class Command(BaseCommand):
    help = "Launch an evaluation job (rm_accuracy, reward_win_rate, human_comparison) or print the win-rate table."

    def add_arguments(self, parser):
        parser.add_argument("mode", choices=[*EVALUATION_MODES, "table"])
        parser.add_argument("--candidate", type=int)
        parser.add_argument("--baseline", type=int)
        parser.add_argument("--judge", type=int, help="reward model id")
        parser.add_argument("--split", help="prompt split (default eval)")
        parser.add_argument("--limit", type=int)
        parser.add_argument("--labelers", type=int, dest="labelers_required")
        add_launch_arguments(parser)

    def handle(self, *args, **options):
        if options["mode"] == "table":
            return self.print_table()
        extra = {k: options[k] for k in ("candidate", "baseline", "judge", "split", "limit", "labelers_required")}
        launch(self, "evaluate", options, {"mode": options["mode"], **extra})

    def print_table(self):
        rows = win_rate_table()
        self.stdout.write(f"{'model':<28} {'baseline':<28} {'judge':<18} {'win rate':>8}  {'95% interval':<15} W/T/L")
        for r in rows:
            model = f"#{r['model']} {r['model_name']}"[:28]
            base = f"#{r['baseline']} {r['baseline_name']}"[:28]
            self.stdout.write(f"{model:<28} {base:<28} {r['judge'][:18]:<18} {pct(r['win_rate']):>8}  "
                              f"{pct(r['ci_low'])}–{pct(r['ci_high'])}  {r['wins']}/{r['ties']}/{r['losses']}")
        self.stdout.write("ties count half; 95% Wilson score interval")
