"""How ``optrun compare`` lays out its figures: runs side by side and sweeps' configurations as
rich tables, markdown and CSV, the prose lines around them (wrapped to the terminal), and the
"best" lines. The figures come from :mod:`optrun.compare` (pure data), imported lazily so that
``optrun compare --help`` does not load numpy.
"""

from __future__ import annotations

import sys

import click

from .render import csv_text, markdown_text, output_width, print_table

BEST_STYLE = "bold green"


def say(text: str, width: int) -> None:
    """A line of prose around the tables, wrapped at spaces to the terminal's width (a terminal,
    or ``COLUMNS``): words (numbers, labels) are never cut, continuation lines are indented. In a
    pipe or a CI log without ``COLUMNS`` a line stays whole, for grep (``worse: ...``)."""
    import os
    import textwrap

    if not sys.stdout.isatty() and not os.environ.get("COLUMNS", "").strip().isdigit():
        click.echo(text)
        return
    click.echo(
        textwrap.fill(text, width, subsequent_indent="  ", break_long_words=False, break_on_hyphens=False)
        if len(text) > width
        else text
    )


def _headers(comparison) -> list[str]:
    labels = [s.label for s in comparison.runs]
    return [lab if labels.count(lab) == 1 else f"{lab} #{i + 1}" for i, lab in enumerate(labels)]


def _cells(row) -> list[str]:
    return [t + (" *" if j in row.best else "") for j, t in enumerate(row.text)]


def print_runs(comparison) -> None:
    rows = comparison.rows + comparison.config_rows
    body = [[r.label, *_cells(r)] for r in rows]
    styles = [[None, *[BEST_STYLE if j in r.best else None for j in range(len(r.text))]] for r in rows]
    sections = [len(comparison.rows)] if comparison.config_rows else []
    if comparison.config_rows:
        body[len(comparison.rows)][0] = "config: " + body[len(comparison.rows)][0]
    print_table(
        ["", *_headers(comparison)],
        body,
        right=tuple(range(1, len(comparison.runs) + 1)),
        styles=styles,
        sections=sections,
        width=output_width(),
    )


def markdown_runs(comparison) -> str:
    def md_row(r) -> list[str]:
        return [r.label, *[f"**{t}**" if j in r.best else t for j, t in enumerate(r.text)]]

    body = [md_row(r) for r in comparison.rows]
    if comparison.config_rows:
        body.append(["**config**", *[""] * len(comparison.runs)])
        body += [[f"`{r.label}`", *[f"`{t}`" for t in r.text]] for r in comparison.config_rows]
    return markdown_text(["", *_headers(comparison)], body)


def csv_runs(comparison) -> str:
    ids = [s.id for s in comparison.runs]
    rows = []
    for r in comparison.rows + comparison.config_rows:
        vals = [v if isinstance(v, (int, float, str)) or v is None else str(v) for v in r.values]
        rows.append([r.key, r.label, *vals, " ".join(ids[i] for i in r.best)])
    return csv_text(["key", "label", *ids, "best"], rows)


def best_line(comparison) -> str | None:
    from ..compare import METRICS, fmt_target

    m = METRICS[comparison.metric]
    label = m.label + (f" {fmt_target(comparison.target)}" if m.key == "iterations_to_target" else "")
    if not comparison.best:
        why = (
            "the runs solve different problems"
            if (m.problem and not comparison.comparable)
            else "no run is ahead"
        )
        return f"best by {label}: none ({why})"
    names = ", ".join(comparison.runs[i].label for i in comparison.best)
    return f"best by {label}: {names}"


# ------------------------------------------------------------------------------------ sweeps


def shown_targets(cmp) -> list[float]:
    """The targets worth a column: those some configuration reached, and the first none did."""
    reached = [i for i, t in enumerate(cmp.targets) if any(g.success[t] > 0 for g in cmp.groups)]
    return [] if not reached else cmp.targets[: min(reached[-1] + 2, len(cmp.targets))]


def _target_cell(g, t: float) -> str:
    share = g.success[t]
    if not share:
        return "0%"
    return f"{share:.0%} @ {g.hit_median[t]:,.0f}"


def _iqr(g) -> str:
    from ..compare import fmt_number

    return f"{fmt_number(g.q1)} .. {fmt_number(g.q3)}"


def _group_table(cmp) -> tuple[list[str], list[list[str]], list[float]]:
    from ..compare import fmt_number, fmt_target

    targets = shown_targets(cmp)
    header = [
        "configuration",
        "n",
        f"median {cmp.metric_label}",
        "IQR (25% .. 75%)",
        *[f"<= {fmt_target(t)}" for t in targets],
    ]
    body = [
        [g.label, f"{g.n:,}", fmt_number(g.median), _iqr(g), *[_target_cell(g, t) for t in targets]]
        for g in cmp.groups
    ]
    return header, body, targets


def _side_text(cmp, label: str) -> str:
    """A configuration's label without its side: ``A, alpha=0.1`` -> ``alpha=0.1``."""
    side = next((g.side for g in cmp.groups if g.label == label), "")
    return label[len(side) + 2 :] if label.startswith(side + ", ") else ("" if label == side else label)


def _matched(cmp) -> bool:
    """Whether every test pairs one configuration of two sides (the table's configuration column)."""
    return all(_side_text(cmp, t.a) and _side_text(cmp, t.a) == _side_text(cmp, t.b) for t in cmp.tests)


TEST_TITLES = {
    "mann-whitney": "Mann-Whitney U tests across seeds",
    "wilcoxon": "Wilcoxon signed-rank tests of the members paired by seed",
}


def _test_kinds(cmp) -> list[tuple[str, list]]:
    """The tests by kind (independent samples first, then paired), each kind its own table."""
    kinds = [(k, [t for t in cmp.tests if t.test == k]) for k in TEST_TITLES]
    return [(k, ts) for k, ts in kinds if ts]


def _test_table(cmp, tests) -> tuple[list[str], list[list[str]], int]:
    """The tests as rows; with the number of label columns (repeated in every block of a narrow
    terminal). When each test pairs the same configuration of two sides, as a baseline against a
    candidate sweep does, the configuration is one column and the sides are A and B of the header.
    Paired tests have one count (pairs) and W (min) for U (min)."""
    from ..compare import fmt_number

    paired = tests[0].test == "wilcoxon"
    counts = ["pairs"] if paired else ["n A", "n B"]
    stat = "W (min)" if paired else "U (min)"
    figures = [*counts, "median A", "median B", stat, "p", "P(A better)", "better"]
    matched = _matched(cmp)
    several = len(cmp.sides) > 2
    if matched:
        header = ["configuration", *(["B"] if several else []), *figures]
    else:
        header = ["A", "B", *figures]
    body = []
    for t in tests:
        if matched:
            names = [
                _side_text(cmp, t.a),
                *([next(g.side for g in cmp.groups if g.label == t.b)] if several else []),
            ]
        else:
            names = [t.a, t.b]
        # 'better' names the column (A or B): the labels are in the row already
        body.append(
            [
                *names,
                *([str(t.n_pairs)] if paired else [str(t.n_a), str(t.n_b)]),
                fmt_number(t.median_a),
                fmt_number(t.median_b),
                f"{t.statistic:g}",
                f"{t.p_value:.3g}",
                f"{t.prob_a_better:.2f}",
                {t.a: "A", t.b: "B"}.get(t.better, "neither"),
            ]
        )
    return header, body, len(header) - len(figures)


def _sides_line(cmp) -> str | None:
    """What A and B of a test table with a configuration column are, unless the sides are
    already named A and B: with more than two sides, A is the first (the baseline) and column B
    names the side each test takes against it."""
    if len(cmp.sides) < 2 or not _matched(cmp):
        return None
    if len(cmp.sides) > 2:
        return f"A = {cmp.sides[0]} (the baseline); B = the side in column B"
    return None if cmp.legend else f"A = {cmp.sides[0]}; B = {cmp.sides[1]}"


def _ranking_table(cmp) -> tuple[list[str], list[list[str]]]:
    from ..compare import fmt_number

    rk = cmp.ranking
    header = ["algorithm", *rk.objectives, "mean rank"]
    body = []
    for e in rk.entrants:
        cells = [
            f"{fmt_number(rk.medians[e][o])} ({rk.ranks[e][o]:g})" if o in rk.ranks[e] else "-"
            for o in rk.objectives
        ]
        body.append([e, *cells, f"{rk.mean_rank[e]:.2f}"])
    return header, body


def sweep_best_line(cmp) -> str:
    from ..compare import fmt_number

    if not cmp.best:
        return (
            f"best by {cmp.metric_label}: none (one configuration)"
            if len(cmp.groups) == 1
            else f"best by {cmp.metric_label}: none"
        )
    several = len({g.problem for g in cmp.groups}) > 1
    parts = [
        (f"on {cmp.groups[i].problem}: " if several else "")
        + f"{cmp.groups[i].label} (median {fmt_number(cmp.groups[i].median)}, IQR {_iqr(cmp.groups[i])}, "
        f"n = {cmp.groups[i].n})"
        for i in cmp.best
    ]
    return f"best by median {cmp.metric_label}: " + "; ".join(parts)


def _constant_line(cmp) -> str:
    """The axes that have one value in every configuration, said once above the table."""
    from ..compare import value_text

    return "every configuration has " + ", ".join(f"{k}={value_text(v)}" for k, v in cmp.constant.items())


def _legend_lines(cmp) -> list[str]:
    """``A = <sweep id>``: what each short side name in the labels stands for."""
    return [f"{name} = {what}" for name, what in cmp.legend.items()]


def print_sweeps(cmp, result: str | None) -> None:
    header, body, _ = _group_table(cmp)
    best = set(cmp.best)
    styles = [
        [BEST_STYLE if i in best and j in (0, 2) else None for j in range(len(header))]
        for i in range(len(body))
    ]
    for i in best:
        body[i][2] += " *"
    width = output_width()
    say(f"{cmp.metric_label} across seeds (lower is better)", width)
    if any(str(h).startswith("<=") for h in header):  # (online sweeps have no f - f* targets)
        say("'<= t': share of members that reached f - f* <= t @ their median iterations", width)
    for line in _legend_lines(cmp):
        say(line, width)
    if cmp.constant:
        say(_constant_line(cmp), width)
    print_table(header, body, right=tuple(range(1, len(header))), styles=styles, width=width)
    for kind, tests in _test_kinds(cmp):
        click.echo("")
        say(f"{TEST_TITLES[kind]} (two-sided, significance level {cmp.alpha:g}):", width)
        th, tb, labels = _test_table(cmp, tests)
        if _sides_line(cmp):
            say(_sides_line(cmp), width)
        print_table(th, tb, right=tuple(range(labels, len(th) - 1)), width=width, repeat=labels)
    if cmp.tests:
        # the table holds every figure: in words, each difference found, and how many tests found none
        said = [t for t in cmp.tests if t.better or len(cmp.tests) == 1]
        for t in said:
            say(t.line, width)
        if len(said) < len(cmp.tests):
            rest = len(cmp.tests) - len(said)
            say(
                f"no significant difference in {cmp.metric_label} for {'the other ' if said else ''}{rest} "
                f"pair{'s' * (rest != 1)} of configurations (p >= {cmp.alpha:g})",
                width,
            )
    if cmp.ranking is not None:
        click.echo("")
        say(f"ranking by median {cmp.metric_label} per objective (rank in brackets, 1 = best):", width)
        rh, rb = _ranking_table(cmp)
        print_table(rh, rb, right=tuple(range(1, len(rh))), width=width)
    click.echo("")
    for note in [
        "* best configuration (lowest median)"
        + (" on each problem" if len({g.problem for g in cmp.groups}) > 1 else ""),
        *cmp.notes,
    ]:
        say(note, width)
    if result:
        say(result, width)


def markdown_sweeps(cmp, result: str | None) -> str:
    header, body, _ = _group_table(cmp)
    for i in cmp.best:
        body[i][0], body[i][2] = f"**{body[i][0]}**", f"**{body[i][2]}**"
    text = f"{cmp.metric_label} across seeds (lower is better)\n\n"
    if cmp.legend:
        text += "".join(f"- {line}\n" for line in _legend_lines(cmp)) + "\n"
    if cmp.constant:
        text += _constant_line(cmp) + "\n\n"
    text += markdown_text(header, body)
    for kind, tests in _test_kinds(cmp):
        th, tb, _ = _test_table(cmp, tests)
        title = TEST_TITLES[kind].replace(" across seeds", "")
        text += f"\n{title} (two-sided, significance level {cmp.alpha:g})\n\n"
        text += (_sides_line(cmp) + "\n\n" if _sides_line(cmp) else "") + markdown_text(th, tb)
    if cmp.ranking is not None:
        rh, rb = _ranking_table(cmp)
        text += f"\nRanking by median {cmp.metric_label} (rank in brackets)\n\n" + markdown_text(rh, rb)
    notes = ["Best configuration in **bold** (lowest median).", *[t.line for t in cmp.tests], *cmp.notes]
    if result:
        notes.append(result)
    return text + "\n" + "".join(f"- {n}\n" for n in notes)


def csv_sweeps(cmp) -> str:
    """The group table; tests and the ranking follow as further CSV tables after a blank line."""
    from ..compare import fmt_target

    ts = [fmt_target(t) for t in cmp.targets]
    header = [
        "side",
        "sweep",
        "configuration",
        *cmp.axes,
        "n",
        "median",
        "q1",
        "q3",
        "missing",
        *[f"success_{t}" for t in ts],
        *[f"median_iterations_{t}" for t in ts],
        "best",
    ]
    best = set(cmp.best)
    rows = []
    for i, g in enumerate(cmp.groups):
        axes = [
            g.key.get(a) if not isinstance(g.key.get(a), (dict, list)) else str(g.key.get(a))
            for a in cmp.axes
        ]
        rows.append(
            [
                g.side,
                g.sweep,
                g.label,
                *axes,
                g.n,
                g.median,
                g.q1,
                g.q3,
                g.missing,
                *[g.success[t] for t in cmp.targets],
                *[g.hit_median[t] for t in cmp.targets],
                "true" if i in best else "false",
            ]
        )
    text = csv_text(header, rows)
    if cmp.tests:
        keys = [
            "a",
            "b",
            "n_a",
            "n_b",
            "median_a",
            "median_b",
            "u",
            "u_min",
            "p_value",
            "method",
            "prob_a_better",
            "alpha",
            "better",
            "test",
            "n_pairs",
            "w_plus",
            "w_minus",
        ]
        text += "\n" + csv_text(keys, [[getattr(t, k) for k in keys] for t in cmp.tests])
    if cmp.ranking is not None:
        rk = cmp.ranking
        text += "\n" + csv_text(
            [
                "algorithm",
                *[f"median {o}" for o in rk.objectives],
                *[f"rank {o}" for o in rk.objectives],
                "mean_rank",
            ],
            [
                [
                    e,
                    *[rk.medians[e].get(o) for o in rk.objectives],
                    *[rk.ranks[e].get(o) for o in rk.objectives],
                    rk.mean_rank[e],
                ]
                for e in rk.entrants
            ],
        )
    return text
