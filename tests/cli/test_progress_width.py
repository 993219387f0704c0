"""The progress bars fit the terminal by leaving out whole columns (ETA and bar first), never by
cutting a number: rendered through rich's Console at fixed widths."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from optrun.cli.console import BarReporter, BarSweepReporter


def render(reporter, width: int) -> list[str]:
    console = reporter.console
    table = reporter.bar.make_tasks_table(reporter.bar.tasks)
    console.print(table)
    return [line for line in console.export_text().splitlines() if line.strip()]


def console(width: int) -> Console:
    return Console(width=width, record=True, file=io.StringIO(), force_terminal=True, color_system=None)


@pytest.mark.parametrize("width", [160, 100, 80, 60, 40])
def test_run_bar_keeps_every_number(width):
    r = BarReporter(console=console(width))
    r.task = r.bar.add_task("rosenbrock-amsgrad-long-experiment-name", total=30000, f="-", best="-")
    r.progress(9215, 30000, 0.123456789, 0.0123456789)
    lines = render(r, width)
    assert len(lines) == 1, lines  # one line per task: nothing wrapped
    line = lines[0]
    assert len(line) <= width
    assert "…" not in line and "..." not in line
    assert " 9,215/30,000" in f" {line}"
    if width >= 60:
        assert "f 0.1235  best 0.01235" in line
    if width >= 160:
        assert "━" in line and "rosenbrock-amsgrad-long-experiment-name" in line  # room for everything


def test_run_bar_drops_eta_then_bar_first():
    def line_at(width):
        r = BarReporter(console=console(width))
        r.task = r.bar.add_task("rosenbrock-amsgrad-long-experiment-name", total=30000, f="-", best="-")
        r.progress(9215, 30000, 0.123456789, 0.0123456789)
        (line,) = render(r, width)
        return line

    wide, mid, narrow = line_at(102), line_at(100), line_at(80)
    assert "━" in wide and "-:--:--" in wide and "0:00:00" in wide  # everything fits
    assert "━" in mid and "-:--:--" not in mid and "0:00:00" in mid  # the ETA goes first
    assert "━" not in narrow and "-:--:--" not in narrow  # then the bar
    assert "f 0.1235  best 0.01235" in narrow and " 9,215/30,000 " in narrow


@pytest.mark.parametrize("width", [160, 80, 60, 40])
def test_sweep_bar_keeps_the_member_count(width):
    r = BarSweepReporter(console=console(width))
    r.nbatches = 12
    r.task = r.bar.add_task("a-sweep-with-a-long-descriptive-name", total=123456, batches="0/12")
    r.sweep_progress(98765, 7)
    (line,) = render(r, width)
    assert len(line) <= width and "…" not in line
    assert "98,765/123,456 members" in line
    if width >= 60:
        assert "batches 7/12" in line
