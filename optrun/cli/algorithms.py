"""``optrun algorithms``: the optimizers, their variants, update rules and hyperparameters."""

from __future__ import annotations

import json
from typing import Any

import click

from .options import format_option


def _param_dict(p) -> dict[str, Any]:
    return {
        "name": p.name,
        "default": p.default,
        "range": p.range_text(),
        "type": p.kind.__name__,
        "nullable": p.nullable,
        "doc": p.doc,
    }


def algorithm_dict(algo) -> dict[str, Any]:
    """An algorithm as plain data (the ``--format json`` output)."""
    return {
        "name": algo.name,
        "aliases": list(algo.aliases),
        "summary": algo.summary,
        "reference": algo.reference,
        "default_variant": algo.default_variant,
        "variants": [
            {
                "name": v.name,
                "aliases": list(v.aliases),
                "rule": v.rule,
                "notes": v.notes,
                "params": [_param_dict(p) for p in v.params],
            }
            for v in algo.variants
        ],
    }


def _variant_names(algo) -> str:
    names = []
    for v in algo.variants:
        label = v.name + (f" ({'/'.join(v.aliases)})" if v.aliases else "")
        names.append(label + ("*" if v.name == algo.default_variant else ""))
    return ", ".join(names)


def _default_text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


_LIKE_FOR_LIKE = (
    "Without algorithm.variant each algorithm runs its default variant; pin one (torch, optax) to "
    "compare like with like: a swap of algorithm.name keeps it where the new algorithm has it."
)


def list_text(algos) -> str:
    width = max(len(a.name) for a in algos)
    dwidth = max(len("default"), *(len(a.default_variant) for a in algos))
    vwidth = max(len(_variant_names(a)) for a in algos)
    lines = [f"{'algorithm':<{width}}  {'default':<{dwidth}}  {'variants (* default)':<{vwidth}}  summary"]
    for a in algos:
        lines.append(
            f"{a.name:<{width}}  {a.default_variant:<{dwidth}}  {_variant_names(a):<{vwidth}}  {a.summary}"
        )
    lines.append("")
    lines.append(_LIKE_FOR_LIKE)
    lines.append(
        "Every algorithm takes a learning-rate schedule (algorithm.schedule): "
        + ", ".join(_schedules())
        + "."
    )
    lines.append("Details: optrun algorithms NAME")
    return "\n".join(lines)


def _schedules() -> list[str]:
    from ..optimizers.schedules import SCHEDULES

    return list(SCHEDULES)


def detail_text(algo) -> str:
    lines = [f"{algo.name}: {algo.summary}"]
    if algo.aliases:
        lines.append(f"aliases: {', '.join(algo.aliases)}")
    lines.append(f"reference: {algo.reference}")
    for v in algo.variants:
        lines.append("")
        head = f"variant {v.name}" + (f" (also: {', '.join(v.aliases)})" if v.aliases else "")
        lines.append(head + ("  [default]" if v.name == algo.default_variant else ""))
        lines.extend("    " + r for r in v.rule.splitlines())
        if v.params:
            w = max(len(p.name) for p in v.params)
            dw = max(len(_default_text(p.default)) for p in v.params)
            rw = max(len(p.range_text()) for p in v.params)
            for p in v.params:
                lines.append(
                    f"  {p.name:<{w}}  {_default_text(p.default):<{dw}}  {p.range_text():<{rw}}  {p.doc}"
                )
        if v.notes:
            lines.append(f"  {v.notes}")
    lines.append("")
    lines.append("All variants accept algorithm.schedule (see the README, 'Learning-rate schedules').")
    return "\n".join(lines)


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def list_markdown(algos) -> str:
    from ..optimizers.schedules import SUMMARIES

    lines = [
        "| algorithm | default variant | variants (default first) | defaults per variant | summary |",
        "|---|---|---|---|---|",
    ]
    for a in algos:
        ordered = sorted(a.variants, key=lambda v: v.name != a.default_variant)
        variants = ", ".join(
            f"`{v.name}`" + (f" (= {', '.join(f'`{x}`' for x in v.aliases)})" if v.aliases else "")
            for v in ordered
        )
        defaults = "<br>".join(
            f"`{v.name}`: " + ", ".join(f"{p.name}={_default_text(p.default)}" for p in v.params)
            for v in ordered
        )
        lines.append(
            f"| `{a.name}` | `{a.default_variant}` | {variants} | {_md(defaults)} | {_md(a.summary)} |"
        )
    lines += ["", "| schedule | learning rate for the update after k steps |", "|---|---|"]
    lines += [f"| `{name}` | {_md(text)} |" for name, text in SUMMARIES.items()]
    return "\n".join(lines)


def detail_markdown(algo) -> str:
    lines = [f"### `{algo.name}`", "", f"{algo.summary}. {algo.reference}."]
    for v in algo.variants:
        lines += [
            "",
            f"**{v.name}**"
            + (f" (also {', '.join(v.aliases)})" if v.aliases else "")
            + (" (default)" if v.name == algo.default_variant else ""),
            "",
            "```",
            v.rule,
            "```",
            "",
        ]
        if v.params:
            lines += ["| parameter | default | range | meaning |", "|---|---|---|---|"]
            lines += [
                f"| `{p.name}` | {_default_text(p.default)} | {_md(p.range_text())} | {_md(p.doc)} |"
                for p in v.params
            ]
        if v.notes:
            lines += ["", v.notes]
    return "\n".join(lines)


@click.command()
@click.argument("name", required=False)
@format_option("json", "markdown")
def algorithms(name, fmt):
    """List the optimizers, or show one algorithm's variants in full.

    Without NAME: each algorithm with its variants and a one-line summary. With NAME:
    every variant's update rule, hyperparameters (default and valid range) and how it
    differs from the library it is named after. --format markdown prints the README table.

    \b
    Examples:
      optrun algorithms
      optrun algorithms adam
      optrun algorithms --format markdown > table.md
      optrun algorithms rmsprop --format json
    """
    from ..errors import OptrunError
    from ..optimizers import ALGORITHMS, algorithm_names, get_algorithm
    from ..registry import unknown

    if name is None:
        algos = list(ALGORITHMS.values())
        if fmt == "json":
            click.echo(json.dumps([algorithm_dict(a) for a in algos], indent=2))
        elif fmt == "markdown":
            click.echo(list_markdown(algos))
        else:
            click.echo(list_text(algos))
        return
    try:
        algo = get_algorithm(name)
    except KeyError:
        raise OptrunError(unknown("algorithm", name, algorithm_names(), "algorithms")) from None
    if fmt == "json":
        click.echo(json.dumps(algorithm_dict(algo), indent=2))
    elif fmt == "markdown":
        click.echo(detail_markdown(algo))
    else:
        click.echo(detail_text(algo))
