"""What a person sees while runs go: a rich progress bar on a terminal, plain lines otherwise.

Human output goes to stderr, data (the result line, machine formats) to stdout. No ANSI codes
when stdout is not a terminal or NO_COLOR is set. rich's progress module is imported only when
a bar is actually drawn.
"""

from __future__ import annotations

import math
import os
import sys
import time

import click

from ..text import flow, plural


def use_bar(quiet: bool, verbose: bool) -> bool:
    return (
        not quiet
        and not verbose
        and not os.environ.get("NO_COLOR")
        and sys.stdout.isatty()
        and sys.stderr.isatty()
    )


def describe(config) -> str:
    algo = config.algorithm
    return (
        f"{algo.name} ({algo.variant}) on {config.objective.name}, d={config.dim}, "
        f"{plural(config.iterations, 'iteration')}"
    )


def result_line(outcome) -> str:
    s = outcome.summary
    st = s["status"]
    iterations = s.get("iterations") or 0
    head = f"{st} at iteration {iterations:,}" if st != "completed" else st
    if st == "completed" and s.get("stop_reason") not in (None, "iterations"):
        head = f"completed ({s['stop_reason']})"
    return (
        f"{head}: {s.get('name')} {f_text(s)}, {plural(iterations, 'iteration')} "
        f"in {s.get('wall_time_s', 0):.2f} s -> {outcome.path}"
    )


def f_text(s: dict) -> str:
    """``f = 0.123 (best 0.1 at 1,234)``; says plainly when no f, or no finite f, was seen
    (a run that diverged at once has no best value: not ``best nan``)."""
    f, best, at = s.get("final_f"), s.get("best_f"), s.get("best_iteration")
    if s.get("final_avg_regret") is not None:  # an online run: its regret is what it is judged by
        return (
            f"regret R_T / T = {s['final_avg_regret']:.6g} (R_T = {s['final_regret']:.6g}), x = {_point(s)}"
        )
    if f is None and best is None:
        return "no f computed yet"
    fs = "f = n/a" if f is None else f"f = {f:.6g}"
    if best is None or not math.isfinite(best):
        return f"{fs} (no finite f seen)"
    unknown = f"; f* unknown: {s['f_min_note']}" if s.get("f_min_note") else ""
    return f"{fs} (best {best:.6g}" + ("" if at is None else f" at {at:,}") + f"{unknown})" + _test_text(s)


def _test_text(s: dict) -> str:
    """``, test loss 0.31, accuracy 91.7%`` for a learning run with test data."""
    loss, accuracy = s.get("final_test_loss"), s.get("final_test_accuracy")
    if loss is None or not math.isfinite(loss):
        return ""
    tail = "" if accuracy is None or not math.isfinite(accuracy) else f", accuracy {100 * accuracy:.4g}%"
    return f", test loss {loss:.6g}{tail}"


def _point(s: dict) -> str:
    x = s.get("final_x")
    if not x:
        return "n/a"
    return (
        f"{x[0]:.6g}"
        if len(x) == 1
        else "[" + ", ".join(f"{v:.6g}" for v in x[:3]) + (", ...]" if len(x) > 3 else "]")
    )


class _Throttled:
    """Plain progress lines on stderr, at most one every ``every_s`` seconds. Every reporter is a
    context manager: leaving the block stops a bar still drawn (an exception, an interruption)."""

    every_s = 10.0

    def __init__(self, quiet: bool = False):
        self.quiet = quiet
        self._next = 0.0

    def close(self) -> None:
        """Stop drawing (plain lines have nothing to stop)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _restart(self) -> None:
        self._next = time.monotonic() + self.every_s

    def _due(self) -> bool:
        now = time.monotonic()
        if self.quiet or now < self._next:
            return False
        self._next = now + self.every_s
        return True


class PlainReporter(_Throttled):
    """Plain lines on stderr: a start line, a progress line every 10 s, problems as they happen."""

    def start(self, run_id, path, config) -> None:
        self._restart()
        if not self.quiet:
            click.echo(f"run {run_id}: {describe(config)}", err=True)

    def progress(self, iteration, total, f, best_f) -> None:
        if self._due():
            pct = 100.0 * iteration / total if total else 100.0
            best = f"{best_f:.6g}" if math.isfinite(best_f) else "none finite yet"
            click.echo(
                f"  iteration {iteration:,}/{total:,} ({pct:.0f}%)  f = {f:.6g}  best = {best}", err=True
            )

    def iterations(self, lines) -> None:
        if lines:
            sys.stdout.write("\n".join(lines) + "\n")

    def finish(self, outcome) -> None:
        s = outcome.summary
        if s.get("error"):
            click.echo(f"run failed: {s['error']}", err=True)
        for msg in outcome.expect_failures:
            click.echo(f"expect failed: {msg}", err=True)


BAR_MIN = 10  # a bar narrower than this says nothing: it is dropped first (after the ETA)


def fitting_progress(console, columns: list, drop: list, **kwargs):
    """A rich ``Progress`` whose columns fit the terminal: when a line would be wider than the
    console, whole columns are left out in the order of ``drop`` (the ETA and the bar first), so
    that the numbers shown (the counter above all) are never cut or wrapped.

    Every text column is ``no_wrap`` and sized to its text; the bar takes what is left.
    """
    from rich.progress import BarColumn, Progress
    from rich.table import Column, Table
    from rich.text import Text

    class FittingProgress(Progress):
        def make_tasks_table(self, tasks):
            tasks = [t for t in tasks if t.visible]
            cells = {id(c): [c(t) for t in tasks] for c in columns}

            def width(c) -> int:
                if isinstance(c, BarColumn):
                    return BAR_MIN
                return max(
                    (r.cell_len if isinstance(r, Text) else len(str(r)) for r in cells[id(c)]), default=0
                )

            keep = list(columns)
            for c in drop:
                if sum(map(width, keep)) + len(keep) - 1 <= console.width:  # (self.live: not yet set)
                    break
                keep.remove(c)
            table = Table.grid(
                *(
                    Column(
                        no_wrap=not isinstance(c, BarColumn), ratio=1 if isinstance(c, BarColumn) else None
                    )
                    for c in keep
                ),
                padding=(0, 1),
                expand=self.expand,
            )
            for i in range(len(tasks)):
                table.add_row(*(cells[id(c)][i] for c in keep))
            return table

    return FittingProgress(*columns, console=console, **kwargs)


class BarReporter(PlainReporter):
    """A rich progress bar on stderr with live f and best f; cleared lines stay readable. On a
    narrow terminal the ETA, the bar, the elapsed time and the name are left out, in this order,
    before a number would be cut (:func:`fitting_progress`)."""

    def __init__(self, console=None):
        super().__init__(quiet=False)
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.console = console or Console(stderr=True)
        name, bar = TextColumn("[bold]{task.description}"), BarColumn(bar_width=None)
        count = TextColumn("{task.completed:,.0f}/{task.total:,.0f}")  # separators, as every printed count
        fs, elapsed, eta = (
            TextColumn("f {task.fields[f]}  best {task.fields[best]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        self.bar = fitting_progress(
            self.console,
            [name, bar, count, fs, elapsed, eta],
            [eta, bar, elapsed, name, fs],
            transient=False,
            refresh_per_second=8,
        )
        self.task = None

    def start(self, run_id, path, config) -> None:
        self.console.print(f"run [bold]{run_id}[/]: {describe(config)}", highlight=False)
        self.bar.start()
        self.task = self.bar.add_task(config.name, total=config.iterations or 1, f="-", best="-")

    def progress(self, iteration, total, f, best_f) -> None:
        self.bar.update(self.task, completed=iteration, f=f"{f:.4g}", best=f"{best_f:.4g}")

    def finish(self, outcome) -> None:
        self.bar.stop()
        super().finish(outcome)

    def close(self) -> None:
        if self.bar.live.is_started:
            self.bar.stop()


def describe_sweep(plan, batches) -> str:
    axes = ", ".join(f"{' + '.join(a.keys)} ({len(a.values):,})" for a in plan.axes)
    return f"{plural(len(plan.members), 'member')} over {axes}; {plural(len(batches), 'batch')}"


def sweep_result_line(outcome) -> str:
    s = outcome.summary
    counts = ", ".join(f"{n:,} {k}" for k, n in s.get("counts", {}).items())
    return (
        f"sweep {s['status']}: {s.get('name')} {plural(s['members'], 'member')} ({counts}) in "
        f"{s.get('wall_time_s', 0):.2f} s -> {outcome.path}"
    )


def gate_line(gate: dict | None) -> str | None:
    """One stderr line for a sweep's ``expect:`` gates (success_rate_min, f_gap_median_max)."""
    if not gate:
        return None
    parts = []
    if "success_rate" in gate:
        parts.append(
            f"{gate['members_passed']:,} of {plural(gate['members'], 'member')} met expect "
            f"({gate['success_rate']:.0%}, at least {gate['success_rate_min']:.0%} required)"
        )
    if "f_gap_median_max" in gate:
        med = gate.get("f_gap_median")
        parts.append(
            f"median f - f* {'n/a' if med is None else f'{med:.6g}'} "
            f"({'at most' if gate['passed_f_gap_median'] else 'above'} {gate['f_gap_median_max']:g})"
        )
    return f"sweep gate {'passed' if gate['passed'] else 'failed'}: " + "; ".join(parts)


def expect_summary(outcome) -> None:
    """One line on stderr when members missed the config's ``expect:``, and one for its sweep gates."""
    missed = [r for r in outcome.rows if r.get("expect_passed") is False]
    if missed:
        first = missed[0]
        why = "; ".join(first.get("expect_failures") or []) or "expect failed"
        # under a success-rate gate a miss counts against the rate; the gate line says if it passed
        said = (
            "missed expect"
            if "success_rate_min" in (outcome.summary.get("gate") or {})
            else "expect failed for"
        )
        click.echo(
            f"{said} {len(missed):,} of {plural(len(outcome.rows), 'member')} "
            f"(member {first.get('member')}: {why})",
            err=True,
        )
    gate = gate_line(outcome.summary.get("gate"))
    if gate:  # after the misses: whether they sank the sweep (optrun run and optrun resume alike)
        click.echo(gate, err=True)


class PlainSweepReporter(_Throttled):
    """Plain lines for sweeps: start, a line every 10 s, each failure as soon as it happens."""

    total = 0

    def sweep_start(self, run_id, path, plan, batches, workers) -> None:
        self.total = sum(len(b) for b in batches)
        self._restart()
        if not self.quiet:
            click.echo(
                f"sweep {run_id}: {describe_sweep(plan, batches)}, {plural(workers, 'worker')}", err=True
            )

    def sweep_progress(self, members_done, batches_done) -> None:
        if self._due():
            click.echo(
                f"  {members_done:,.0f}/{plural(self.total, 'member')}, {plural(batches_done, 'batch')} done",
                err=True,
            )

    def member_failed(self, member, assignment, error) -> None:
        axes = ", ".join(f"{k}={flow(v)}" for k, v in assignment.items())
        click.echo(f"member {member} ({axes}) failed: {error}", err=True)

    def sweep_finish(self, outcome) -> None:
        expect_summary(outcome)


class BarSweepReporter(PlainSweepReporter):
    """One rich bar for the whole sweep: members done, batches, elapsed, ETA (columns left out on
    a narrow terminal as for a run's bar)."""

    def __init__(self, console=None):
        super().__init__(quiet=False)
        from rich.console import Console
        from rich.progress import BarColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.console = console or Console(stderr=True)
        name, bar = TextColumn("[bold]{task.description}"), BarColumn(bar_width=None)
        count = TextColumn("{task.completed:,.0f}/{task.total:,.0f} members")
        batches, elapsed, eta = (
            TextColumn("batches {task.fields[batches]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        self.bar = fitting_progress(
            self.console,
            [name, bar, count, batches, elapsed, eta],
            [eta, bar, elapsed, name, batches],
            refresh_per_second=8,
        )
        self.task = None
        self.nbatches = 0

    def sweep_start(self, run_id, path, plan, batches, workers) -> None:
        self.total = sum(len(b) for b in batches)
        self.nbatches = len(batches)
        self.console.print(
            f"sweep [bold]{run_id}[/]: {describe_sweep(plan, batches)}, {plural(workers, 'worker')}",
            highlight=False,
        )
        self.bar.start()
        self.task = self.bar.add_task(plan.base.name, total=self.total, batches=f"0/{self.nbatches}")

    def sweep_progress(self, members_done, batches_done) -> None:
        self.bar.update(self.task, completed=members_done, batches=f"{batches_done}/{self.nbatches}")

    def member_failed(self, member, assignment, error) -> None:
        axes = ", ".join(f"{k}={flow(v)}" for k, v in assignment.items())
        self.bar.console.print(f"member {member} ({axes}) failed: {error}", highlight=False, markup=False)

    def sweep_finish(self, outcome) -> None:
        self.close()
        expect_summary(outcome)

    def close(self) -> None:
        if self.bar.live.is_started:
            self.bar.stop()
