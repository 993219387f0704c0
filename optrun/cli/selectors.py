"""RUN arguments on the command line: relative selectors (``-1``, ``-2/7``, ``-1:seed=3``) look like options.

Shared by every command that takes RUN arguments (``show``, ``compare``, ``plot``, ``resume``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import click

_SHIELD = "\x00"  # cannot come from a shell: marks RUN tokens that look like short options
_MEMBER_TOKEN = re.compile(r"-\d+(?:/\d+/?|:.+)", re.DOTALL)


class SelectorCommand(click.Command):
    """A command whose RUN arguments may look like options.

    ``-1`` and ``-2/7`` pass Click as unknown options (``ignore_unknown_options``), but
    ``-1:alpha=0.1`` holds letters that Click would read as short options (``-h``, ``-o``, ...)
    clustered together. Such tokens are shielded before parsing and restored after it.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        args = [_SHIELD + a if _MEMBER_TOKEN.fullmatch(a) else a for a in args]
        rest = super().parse_args(ctx, args)

        def restore(v: Any) -> Any:
            return v[1:] if isinstance(v, str) and v.startswith(_SHIELD) else v

        for name, value in list(ctx.params.items()):
            ctx.params[name] = tuple(map(restore, value)) if isinstance(value, tuple) else restore(value)
        return rest


def check_selectors(selectors: Sequence[str]) -> None:
    """RUN arguments may start with '-' (-1, -2, and members -1/7, -1:seed=3); anything else
    starting with '-' is a bad option."""
    for s in selectors:
        if s.startswith("-") and not re.fullmatch(r"-\d+(?:/\d+/?|:.*)?", s, re.DOTALL):
            raise click.UsageError(f"no such option: {s} (a relative RUN is -1, -2, ...)")
