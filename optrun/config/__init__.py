"""Config files: YAML in, a validated, fully resolved :class:`RunConfig` out.

- :mod:`.model`: the frozen dataclasses and the schema's key lists;
- :mod:`.yamlio`: reading config text (safe YAML by the 1.2 rules, a line for every key; a leaf);
- :mod:`.overrides`: ``KEY=VALUE`` overrides and section swaps (shared with sweep axes);
- :mod:`.checker`: where an error points (file or override, dotted key path, line);
- :mod:`.validate`: one validator per section;
- :mod:`.load`: read, override and validate one file.

Every key and value is checked before any work starts; unknown keys are refused with the nearest
valid name suggested. Every error names the file, the dotted key path and, where known, the line
(:class:`~optrun.errors.ConfigError`). The schema is documented in the README ("Config format");
:meth:`RunConfig.to_dict` is the resolved form written to a run folder's ``config.yaml``, which
reruns the run bit for bit.
"""

from __future__ import annotations

from .load import RawConfig, load_config, read_raw
from .model import (
    BACKENDS,
    DEFAULT_ITERATIONS,
    EXPECT_KEYS,
    NAME_RE,
    RNG_MODES,
    STOP_KEYS,
    SWEEP_EXPECT_KEYS,
    TOP_KEYS,
    TRACE_FORMATS,
    TRACE_KEYS,
    AlgorithmConfig,
    ExpectConfig,
    ObjectiveConfig,
    RunConfig,
    StopConfig,
    TraceConfig,
    UniformBounds,
    start_outside_bounds,
    uniform_bounds,
)
from .validate import validate
from .yamlio import MAX_NODES, STDIN, config_source, dump_yaml, parse_override, parse_yaml, read_config_file

__all__ = [
    "BACKENDS",
    "DEFAULT_ITERATIONS",
    "EXPECT_KEYS",
    "MAX_NODES",
    "NAME_RE",
    "RNG_MODES",
    "STDIN",
    "STOP_KEYS",
    "SWEEP_EXPECT_KEYS",
    "TOP_KEYS",
    "TRACE_FORMATS",
    "TRACE_KEYS",
    "AlgorithmConfig",
    "ExpectConfig",
    "ObjectiveConfig",
    "RawConfig",
    "RunConfig",
    "StopConfig",
    "TraceConfig",
    "UniformBounds",
    "config_source",
    "dump_yaml",
    "load_config",
    "parse_override",
    "parse_yaml",
    "read_config_file",
    "read_raw",
    "start_outside_bounds",
    "uniform_bounds",
    "validate",
]
