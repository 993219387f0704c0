"""Moved to :mod:`optrun.config.yamlio`; this re-export goes once its importers are repointed."""

from .config.yamlio import (  # noqa: F401
    MAX_NODES,
    STDIN,
    config_source,
    dump_yaml,
    parse_override,
    parse_yaml,
    read_config_file,
)
