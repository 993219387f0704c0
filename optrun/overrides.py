"""Moved to :mod:`optrun.config.overrides`; this re-export goes once its importers are repointed."""

from .config.overrides import (  # noqa: F401
    accepted_keys,
    apply_override,
    apply_overrides,
    assign,
    drop_note,
    switch_rank,
    switches_section,
    variant_of,
)
