"""Output for people and machines: rich tables fitted to the terminal, CSV, markdown and JSON.

Tables are drawn by rich on stdout; when stdout is not a terminal or ``NO_COLOR`` is set they are
plain text (no ANSI codes, ASCII rules, no wrapping unless ``COLUMNS`` says so). Shared by
``optrun runs``, ``show``, ``compare`` and ``objectives``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sys
from collections.abc import Sequence
from typing import Any

import click


def plain_output() -> bool:
    """True when stdout is not a terminal or NO_COLOR is set: no ANSI codes at all."""
    return bool(os.environ.get("NO_COLOR")) or not sys.stdout.isatty()


def make_console():
    """A rich Console on the current stdout; plain (and unwrapped) when :func:`plain_output`."""
    from rich.console import Console

    if plain_output():
        # plain output (a pipe, a file, CI, NO_COLOR) is for reading whole: lines are never cut
        width = 100_000
        return Console(
            file=sys.stdout,
            force_terminal=False,
            color_system=None,
            width=width,
            highlight=False,
            emoji=False,
        )
    return Console(file=sys.stdout, highlight=False, emoji=False)


def output_width() -> int:
    """The width tables are fitted to: the terminal's, else ``COLUMNS``, else 100 (a pipe, a
    file, CI)."""
    import shutil

    if sys.stdout.isatty():
        return shutil.get_terminal_size((100, 24)).columns
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    return columns if columns > 0 else 100


GAP = 3  # columns between two table columns (rich's padding and rule)


def _cell_width(text: str) -> int:
    return max((len(line) for line in str(text).split("\n")), default=0)


_NUMBER = re.compile(r"[-+]?(\d[\d,]*\.?\d*|\.\d+)([eE][-+]?\d+)?[%x*]?")


def _figures(text: str) -> bool:
    """Whether a cell holds figures only (numbers with '..', '@', '*' or a time unit between)."""
    return all(
        _NUMBER.fullmatch(w) or w in ("..", "@", "*", "-", "s", "ms", "us", "ns") for w in str(text).split()
    )


def _wrap_cell(text: str, width: int, fold: bool = False) -> list[str]:
    """A text cell broken at spaces into lines of at most ``width``, continuation lines indented
    so that rows stay apart. Words are not cut; with ``fold`` a word too long for any line is
    (a git commit, a path), never a number."""
    import textwrap

    lines: list[str] = []
    for part in str(text).split("\n"):
        if fold:
            room = max(width - 2, 1)
            part = " ".join(
                " ".join(w[k : k + room] for k in range(0, len(w), room))
                if len(w) > room and not _NUMBER.fullmatch(w)
                else w
                for w in part.split(" ")
            )
        lines += textwrap.wrap(
            part, width, subsequent_indent="  ", break_long_words=False, break_on_hyphens=False
        ) or [""]
    return lines


def _min_width(texts: Sequence[str]) -> int:
    """The narrowest a wrapped text column can be: its longest word (plus the continuation indent)."""
    words = [
        len(w) + (2 if k else 0)
        for t in texts
        for line in str(t).split("\n")
        for k, w in enumerate(line.split())
    ]
    return max(words, default=1)


def _layout(
    header: Sequence[str], rows: Sequence[Sequence[str]], width: int, repeat: int, right: Sequence[int]
) -> tuple[list[list[int]], list[str], list[list[str]]]:
    """Blocks of column indices and the (wrapped) cells of a table fitted to ``width``.

    A table that fits is one block. Otherwise the first ``repeat`` columns (the row labels) are
    repeated in every block and the other columns continue in further blocks below, as pandas
    prints a wide frame; the row labels may wrap over several lines. Of the label widths that
    fit, the one printing the fewest lines wins (a block costs its header too), so long labels
    wrap rather than leave one column per block. Numbers are never cut; a text column too wide
    for any block wraps at its spaces."""
    ncol = len(header)
    natural = [max([_cell_width(header[j])] + [_cell_width(r[j]) for r in rows]) for j in range(ncol)]
    if sum(natural) + GAP * (ncol - 1) <= width or ncol <= repeat:
        return [list(range(ncol))], list(header), [list(map(str, r)) for r in rows]
    labels = list(range(min(repeat, ncol)))
    rest = list(range(len(labels), ncol))
    floor = {j: max(_min_width([header[j]]), _min_width([r[j] for r in rows])) for j in labels}
    # the narrowest each other column can be: text folds, but a number never breaks, nor does a
    # cell of figures (an interquartile range '0.12 .. 0.42', '67% @ 1,025', '2.16 ms')
    whole = {
        j: max(
            [
                _cell_width(r[j])
                if _figures(r[j])
                else max([len(w) for w in str(r[j]).split() if _NUMBER.fullmatch(w)] + [1])
                for r in rows
            ]
            + [1]
        )
        for j in rest
    }

    def plan(cap: int):
        lw = {j: max(floor[j], min(natural[j], cap)) for j in labels}
        wrapped = {j: [_wrap_cell(r[j], lw[j]) for r in rows] for j in labels}
        used = sum(max([_cell_width(header[j])] + [len(x) for c in wrapped[j] for x in c]) for j in labels)
        room = width - used - GAP * len(labels)
        blocks, cur, cur_w = [], [], 0
        for j in rest:
            w = natural[j]
            if cur and cur_w + GAP + w > room:
                blocks.append(cur)
                cur, cur_w = [], 0
            cur_w = w if not cur else cur_w + GAP + w
            cur.append(j)
        blocks.append(cur)
        heights = [max(len(wrapped[j][i]) for j in labels) for i in range(len(rows))]
        lines = len(blocks) * (sum(heights) + 3)  # each block: header, rule, rows, a blank line
        over = 0
        for j in (j for b in blocks if len(b) == 1 for j in b if natural[j] > room):
            over += max(0, whole[j] - room)  # a number wider than the room: the table overflows
            lines += sum(
                max(0, len(_wrap_cell(r[j], max(room, 1), fold=True)) - h) for r, h in zip(rows, heights)
            )
        return over, lines, -cap, blocks, wrapped, room

    caps = sorted({max(floor[j], c) for j in labels for c in range(floor[j], natural[j] + 1)}, reverse=True)
    _, _, _, blocks, wrapped, room = min((plan(c) for c in caps), key=lambda p: p[:3])
    cells = [
        [("\n".join(wrapped[j][i]) if j in wrapped else str(r[j])) for j in range(ncol)]
        for i, r in enumerate(rows)
    ]
    heads = list(header)
    for j in rest:  # a column too wide even alone: text breaks at its spaces, long words fold (not numbers)
        if natural[j] > room:
            heads[j] = "\n".join(_wrap_cell(heads[j], max(room, 1), fold=True))
            for r in cells:
                r[j] = "\n".join(_wrap_cell(r[j], max(room, 1), fold=True))
    return [labels + b for b in blocks], heads, cells


def print_table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    right: Sequence[int] = (),
    styles: Sequence[Sequence[str | None]] | None = None,
    sections: Sequence[int] = (),
    title: str | None = None,
    width: int | None = None,
    repeat: int = 1,
) -> None:
    """Draw a table with rich. ``right``: right-aligned column indices; ``styles[i][j]``: a rich
    style for cell (i, j) (ignored in plain output); ``sections``: row indices a rule goes above.

    ``width``: fit the table to this many columns by wrapping whole columns into further blocks
    below (each repeating the first ``repeat`` columns, as pandas prints a wide frame) rather than
    cutting cells; without it plain output is never wrapped."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    console = make_console()
    plain = plain_output()
    if width is not None:
        blocks, heads, cells = _layout(header, rows, width, repeat, right)
        for k, cols in enumerate(blocks):
            if k:
                sys.stdout.write("\n")
            print_table(
                [heads[j] for j in cols],
                [[row[j] for j in cols] for row in cells],
                right=[n for n, j in enumerate(cols) if j in right],
                styles=None if styles is None else [[st[j] for j in cols] for st in styles],
                sections=sections,
                title=title if k == 0 else None,
            )
        return
    ascii_head = box.Box("    \n    \n -- \n    \n -- \n -- \n    \n    \n", ascii=True)
    table = Table(
        box=ascii_head if plain else box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        header_style="" if plain else "bold",
        title=title,
        title_justify="left",
        title_style="" if plain else "bold",
    )
    for j, name in enumerate(header):
        # the first column names the rows and numbers must never be cut: on a narrow terminal the
        # other text columns wrap instead
        width = max([_cell_width(name)] + [_cell_width(r[j]) for r in rows if j < len(r)]) if rows else 0
        keep = j in right or (j == 0 and width <= 30)  # row labels and numbers stay whole
        width = width if keep else None
        table.add_column(
            escape(name),
            justify="right" if j in right else "left",
            no_wrap=plain or keep,
            min_width=width,
            overflow="fold",
        )
    for i, row in enumerate(rows):
        if i in sections and i:
            table.add_section()
        cells = []
        for j, cell in enumerate(row):
            style = None if plain or styles is None else styles[i][j]
            text = escape(str(cell))
            cells.append(f"[{style}]{text}[/]" if style else text)
        table.add_row(*cells)
    if plain:  # no trailing padding in piped output
        with console.capture() as cap:
            console.print(table)
        sys.stdout.write("".join(line.rstrip() + "\n" for line in cap.get().splitlines()))
    else:
        console.print(table)


def csv_text(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    for row in rows:
        w.writerow(["" if v is None else (repr(v) if isinstance(v, float) else v) for v in row])
    return buf.getvalue()


def markdown_text(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured markdown table (pipes in cells escaped)."""

    def cell(v: Any) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = [
        "| " + " | ".join(cell(h) for h in header) + " |",
        "|" + "|".join("---" if j == 0 else "---:" for j in range(len(header))) + "|",
    ]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def echo_json(data: Any) -> None:
    from ..store.folder import jsonable

    click.echo(json.dumps(jsonable(data), indent=1, allow_nan=False, default=str))
