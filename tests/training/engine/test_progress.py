"""Progress a log can hold: plain lines per 10% (or per N seconds) when the stream is not a terminal,
tqdm's bar on a terminal."""

import io

from training.engine.progress import LineProgress, progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_log_gets_one_line_per_ten_percent_and_no_carriage_returns():
    out = io.StringIO()
    bar = progress(total=200, desc="sft", file=out)
    assert isinstance(bar, LineProgress)
    for step in range(200):
        bar.set_postfix({"loss": f"{1 / (step + 1):.3g}"})
        bar.update(1)
    bar.close()
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue()
    assert len(lines) == 10
    assert lines[0].startswith("sft: 20/200 (10%) in ") and lines[0].endswith("loss=0.05")
    assert lines[-1].startswith("sft: 200/200 (100%)")


def test_without_a_total_a_line_comes_every_n_seconds_and_one_at_the_end():
    out = io.StringIO()
    for _ in progress(iter(range(1000)), desc="sample", file=out, every_seconds=3600):
        pass
    assert out.getvalue().splitlines() == [out.getvalue().splitlines()[0]]
    assert out.getvalue().startswith("sample: 1000 in ")


def test_a_resumed_run_counts_from_where_it_was_and_messages_pass_through():
    out = io.StringIO()
    with progress(total=10, initial=5, desc="rm", file=out) as bar:
        bar.write("rm step 6/10 loss=0.5")
        bar.update(1)
    assert out.getvalue().splitlines() == ["rm step 6/10 loss=0.5", out.getvalue().splitlines()[1]]
    assert out.getvalue().splitlines()[1].startswith("rm: 6/10 (60%)")


def test_a_terminal_gets_tqdm():
    from tqdm.auto import tqdm

    bar = progress(total=3, desc="x", file=Terminal())
    assert isinstance(bar, tqdm)
    bar.close()
