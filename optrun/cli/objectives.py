"""``optrun objectives [NAME]`` (the built-in test functions and the learning objectives) and
``optrun check-gradient CONFIG``."""

from __future__ import annotations

import sys

import click

from .options import complete_config_args, format_option


def _markdown(header: list[str], rows: list[list[str]]) -> str:
    def cell(v: object) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _spec(name: str):
    from ..objectives import get_objective, objective_names
    from ..objectives.data_catalog import data_names
    from ..registry import suggest

    try:
        return get_objective(name)
    except KeyError:
        hint = suggest(name, [*objective_names(), *data_names()], listing="known objectives")
        raise click.BadParameter(f"unknown objective '{name}'{hint}", param_hint="NAME") from None


@click.command()
@click.argument("name", required=False)
@click.option(
    "-d",
    "--dim",
    type=click.IntRange(1, 100_000),
    default=None,
    help="Dimension for the bounds, f* and minima shown (default: the function's default).",
)
@format_option("json", "markdown")
def objectives(name, dim, fmt):
    """List the built-in test functions, or describe the function NAME.

    The list shows each function's dimensions, default bounds, optimal value f* and
    a one-line summary; NAME adds the formula, the reference, the parameters and
    every known global minimizer. Any built-in takes shift/rotate/transform_seed.

    The learning objectives least-squares, logistic and softmax run on data (a
    CSV, NPZ or libsvm file, or a synthetic set) and are listed in their own group;
    NAME shows their keys (data, target, l2, intercept, standardize, test,
    split_seed, batch_size, sampling) and an example config. Their dimension comes
    from the data, they start at x0 = 0, and f* is found from the data.

    Your own Python function: objective: {function: 'my_mod:f', gradient: 'my_mod:g'}
    (gradient optional); timeout_s: 2 fails the run when one evaluation takes longer
    than 2 s (otherwise a hung function waits for Ctrl-C). Or an expression:
    objective: {expression: 'x0**2 + 10*x1**2'}.

    \b
    Examples:
      optrun objectives
      optrun objectives himmelblau
      optrun objectives logistic
      optrun objectives styblinski-tang --dim 5 --format json
      optrun objectives --format markdown > objectives.md
    """
    from ..objectives.catalog import describe
    from .render import echo_json

    if name is None:
        if dim is not None:
            raise click.UsageError("--dim needs a NAME, e.g. optrun objectives rosenbrock --dim 10")
        _echo_list(fmt)
        return
    from ..objectives.data_catalog import data_names, describe_data

    if name in data_names():
        if dim is not None:
            raise click.UsageError(f"--dim: the dimension of '{name}' comes from its data")
        r = describe_data(name)
        if fmt == "json":
            echo_json(r)
        else:
            click.echo(data_markdown(r) if fmt == "markdown" else data_text(r))
        return
    spec = _spec(name)
    if dim is not None and not spec.accepts_dim(dim):
        raise click.BadParameter(
            f"'{spec.name}' is defined for {spec.dims_text()}, not d = {dim}", param_hint="--dim"
        )
    r = describe(spec, dim)
    if fmt == "json":
        echo_json(r)
    elif fmt == "markdown":
        click.echo(detail_markdown(r))
    else:
        click.echo(detail_text(spec, r))


def _echo_list(fmt: str) -> None:
    """Every built-in objective: a table, a markdown table (the README's) or JSON records."""
    from ..objectives import OBJECTIVES
    from ..objectives.catalog import describe
    from .render import echo_json, print_table

    records = [describe(s) for s in OBJECTIVES.values()]
    if fmt == "json":
        echo_json(records)
        return
    header = ["name", "dims", "default bounds", "f*", "global minimizers", "summary"]
    rows = [
        [r["name"], r["dims_text"], r["bounds_text"], r["f_min_text"], r["minima_text"], r["summary"]]
        for r in records
    ]
    if fmt == "markdown":
        click.echo(_markdown(header, [[f"`{r[0]}`", *r[1:]] for r in rows]))
    else:
        print_table(header, rows)
        _echo_data_list()


def _echo_data_list() -> None:
    """The learning objectives: a group of their own under the test functions."""
    from ..objectives.data_catalog import data_names, describe_data
    from .render import print_table

    click.echo("\nLearning objectives on data (optrun objectives NAME: their keys and an example config):")
    records = [describe_data(n) for n in data_names()]
    print_table(
        ["name", "dims", "start", "f*", "summary"],
        [[r["name"], "from the data", "0", "from the data", r["summary"]] for r in records],
    )


def data_text(r: dict) -> str:
    """A learning objective (``describe_data``'s record ``r``) for people: its loss, dimension,
    start, f*, every config key with its default, and an example config."""
    w = max(len(k["key"]) for k in r["keys"])
    dw = max(len(k["default"]) for k in r["keys"])
    lines = [
        f"{r['name']}: {r['summary']}",
        f"  loss        {r['formula']}",
        f"  dimensions  {r['dims_text']}",
        f"  start       {r['start']}",
        f"  f*          {r['f_min_text']}",
        "  keys (under objective:)",
    ]
    lines += [f"    {k['key']:<{w}}  {k['default']:<{dw}}  {k['doc']}" for k in r["keys"]]
    lines += ["  example", *("    " + line for line in r["example"].splitlines())]
    return "\n".join(lines)


def data_markdown(r: dict) -> str:
    """A learning objective (``describe_data``'s record ``r``) as a markdown section."""
    keys = [[f"`{k['key']}`", k["default"], k["doc"]] for k in r["keys"]]
    return "\n".join(
        [
            f"### `{r['name']}`",
            "",
            r["summary"],
            "",
            f"    {r['formula']}",
            "",
            f"- dimensions: {r['dims_text']}",
            f"- start: {r['start']}",
            f"- f*: {r['f_min_text']}",
            "",
            _markdown(["key", "default", "meaning"], keys),
            "",
            "```yaml",
            r["example"],
            "```",
        ]
    )


def detail_markdown(r: dict) -> str:
    """One objective described (``describe``'s record ``r``) as a markdown section."""
    out = [
        f"### `{r['name']}`",
        "",
        r["summary"],
        "",
        f"    {r['formula']}",
        "",
        f"- reference: {r['reference']}",
        f"- dimensions: {r['dims_text']} (default {r['default_dim']})",
        f"- default bounds: {r['bounds_text']}",
        f"- f* = {r['f_min_text']}",
        f"- global minimizers: {r['minima_text']}",
    ]
    if r["params"]:
        out += [
            "",
            _markdown(
                ["parameter", "default", "range", "meaning"],
                [[f"`{p['name']}`", p["default"], p["range"], p["doc"]] for p in r["params"]],
            ),
        ]
    return "\n".join(out)


def detail_text(spec, r: dict) -> str:
    """One objective described (its spec and ``describe``'s record ``r``) for people: the formula,
    reference, dimensions, bounds, f*, every global minimizer (up to d = 10), aliases, parameters."""
    import numpy as np

    from ..objectives.catalog import point_text

    d = r["dim"]
    minima = r["minima"]
    f_star = r["f_min_text"] + (
        f" ({r['f_min']!r} at d = {d})" if spec.f_min_text and r["f_min"] is not None else ""
    )
    formula = r["formula"]
    lines = [
        f"{r['name']}: {r['summary']}",
        f"  formula     {formula}",
        f"  reference   {r['reference']}",
        f"  dimensions  {r['dims_text']} (default {r['default_dim']})",
        f"  bounds      {r['bounds_text']} (default)",
        f"  f*          {f_star}",
        f"  minimizers  {len(minima)} global at d = {d}:",
    ]
    lines += (
        [f"    {point_text(np.asarray(p), exact=True)}" for p in minima]
        if d <= 10
        else [f"    {r['minima_text']}"]
    )
    if r["aliases"]:
        lines.append(f"  aliases     {', '.join(r['aliases'])}")
    if r["params"]:
        lines.append("  parameters")
        w = max(len(p["name"]) for p in r["params"])
        lines += [
            f"    {p['name']:<{w}}  default {p['default']!r:<20} {p['range']:<14} {p['doc']}"
            for p in r["params"]
        ]
    lines.append(f"  transforms  {r['transform_keys']}")
    if r["online"]:
        lines.append(f"  online      {r['online']}")
    return "\n".join(lines)


@click.command("check-gradient")
@click.argument("args", nargs=-1, metavar="CONFIG... [KEY=VALUE...]", shell_complete=complete_config_args)
@click.option(
    "-n",
    "--points",
    type=click.IntRange(1, 1_000_000),
    default=20,
    show_default=True,
    help="How many random points inside the config's bounds.",
)
@click.option(
    "--tolerance",
    type=click.FloatRange(0.0, min_open=True),
    default=1e-6,
    show_default=True,
    help="Exit 1 when the worst error is above this.",
)
@click.option(
    "--seed",
    type=click.IntRange(0, 2**32 - 1),
    default=0,
    show_default=True,
    help="Seed of the random points.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one JSON object per config on stdout.",
)
def check_gradient(args, points, tolerance, seed, fmt):
    """Compare the objective's gradient with finite differences at random points.

    The reference is Richardson-extrapolated central differences; the error at a
    point is max_i |g_i - r_i| / max(1, |g|_inf, |r|_inf) (relative for large
    gradients, absolute for small ones). The worst over all points is printed.

    \b
    Examples:
      optrun check-gradient configs/rosenbrock.yaml
      optrun check-gradient configs/examples/user-objective.yaml --points 100
      optrun check-gradient configs/rastrigin.yaml objective.dim=50 --tolerance 1e-8

    Exit status: 0 every error is within the tolerance; 1 one is not; 2 bad input.
    """
    import json

    import numpy as np

    from ..config import load_config
    from ..objectives.check import check_gradient as measure
    from ..problem import bounds_array, build_objective, located
    from .run import split_args

    paths, overrides = split_args(args)
    configs = [load_config(p, overrides) for p in paths]
    worst_code = 0
    for path, config in zip(paths, configs):
        with located(config, "objective"):  # as optrun run names it: the config file and key
            objective = build_objective(config)
        res = measure(objective, bounds_array(config.bounds), points, seed)
        ok = bool(res.worst <= tolerance)
        kind = objective.info.get("gradient", "analytic")
        worst_code = max(worst_code, 0 if ok else 1)
        if fmt == "json":
            click.echo(
                json.dumps(
                    {
                        "config": path,
                        "objective": objective.name,
                        "dim": objective.dim,
                        "gradient": kind,
                        "points": points,
                        "seed": seed,
                        "tolerance": tolerance,
                        "worst_error": res.worst if np.isfinite(res.worst) else None,
                        "worst_x": res.worst_x.tolist(),
                        "passed": ok,
                    }
                )
            )
            continue
        err = f"{res.worst:.3g}" if np.isfinite(res.worst) else "not finite"
        x = np.array2string(res.worst_x, precision=6, threshold=8, separator=", ")
        click.echo(
            f"{objective.name} (d={objective.dim}, {kind} gradient): worst error {err} over {points} "
            f"points inside the bounds (tolerance {tolerance:g}): {'ok' if ok else 'FAILED'}"
            + ("" if ok else f"; worst at x = {x}")
        )
        if kind == "finite-differences":
            click.echo(
                f"  note: {path} has no gradient function, so its gradient is itself a finite difference",
                err=True,
            )
    sys.exit(worst_code)
