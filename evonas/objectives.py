"""Objectives and constraints of a search, parsed from the CLI's ``--objectives`` and ``--constraint``."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from evonas.checkpoint import LEADING_COLUMNS, TRAILING_COLUMNS
from evonas.errors import ConfigError
from evonas.proxies import PROXIES

DEFAULT_DIRECTIONS = {
    # Zero-cost proxy scores are maximised; params and flops, proxies too, are costs as objectives.
    **dict.fromkeys(PROXIES, "max"),
    "acc": "max",
    "accuracy": "max",
    "latency": "min",
    "params": "min",
    "flops": "min",
    "size": "min",
}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
RESERVED_NAMES = (*LEADING_COLUMNS, *TRAILING_COLUMNS)  # evaluations.csv's own columns


def _check_not_reserved(name: str, what: str) -> None:
    if name in RESERVED_NAMES:
        raise ConfigError(
            f"{what} {name!r} would clash with the evaluations.csv column of that name "
            f"(reserved: {', '.join(RESERVED_NAMES)}); name it otherwise, e.g. {name}_value={name}"
        )


@dataclass(frozen=True)
class Objective:
    """One objective: its name in outputs, the metric the evaluator supplies, and its direction.

    Attributes:
        name: column name in ``front.csv`` and in plots.
        source: the evaluator's metric (a table column, or a metric such as ``latency:measured``).
        direction: "min" or "max".
    """

    name: str
    source: str
    direction: str

    @property
    def sign(self) -> float:
        """+1 for minimised, -1 for maximised: multiply to get a value to minimise."""
        return 1.0 if self.direction == "min" else -1.0

    @property
    def spec(self) -> str:
        """The ``NAME=SOURCE:DIRECTION`` form that parses back to this objective."""
        return f"{self.name}={self.source}:{self.direction}"


def parse_objective(spec: str) -> Objective:
    """Parses ``NAME[=SOURCE][:QUALIFIER...]``.

    A qualifier ``min``/``max`` sets the direction; any other qualifier names a variant of the
    metric and joins the source (``latency:measured``). Names in `DEFAULT_DIRECTIONS` have a
    default direction; others need ``:min`` or ``:max``.
    """
    text = spec.strip()
    head, *qualifiers = text.split(":")
    name, has_source, source = head.partition("=")
    name, source = name.strip(), source.strip()
    if not _NAME.match(name) or (has_source and not source):
        raise ConfigError(f"ill-formed objective {spec!r}; expected NAME[=COLUMN][:min|max]")
    source = source or name
    direction = None
    for qualifier in (q.strip() for q in qualifiers):
        if qualifier in ("min", "max"):
            if direction is not None:
                raise ConfigError(f"objective {spec!r} gives its direction twice")
            direction = qualifier
        elif qualifier and _NAME.match(qualifier):
            source = f"{source}:{qualifier}"
        else:
            raise ConfigError(f"ill-formed objective {spec!r}; expected NAME[=COLUMN][:min|max]")
    _check_not_reserved(name, "objective")
    if direction is None:
        direction = DEFAULT_DIRECTIONS.get(name.lower())
        if direction is None:
            raise ConfigError(f"objective {name!r} has no default direction; write {name}:min or {name}:max")
    return Objective(name=name, source=source, direction=direction)


def parse_objectives(specs: str | Iterable[str]) -> tuple[Objective, ...]:
    """Parses a comma list (or a sequence) of objective specs; names and sources must be distinct."""
    parts = specs.split(",") if isinstance(specs, str) else list(specs)
    if not any(p.strip() for p in parts):
        raise ConfigError("no objectives given")
    if not all(p.strip() for p in parts):
        raise ConfigError(f"empty objective in {','.join(parts)!r}; expected a comma list of NAME[=COLUMN][:min|max]")
    objectives = tuple(parse_objective(p) for p in parts)
    names = [o.name for o in objectives]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"objective named twice: {', '.join(duplicates)}")
    by_source: dict[str, list[str]] = {}
    for o in objectives:
        by_source.setdefault(o.source, []).append(o.name)
    for source, sharing in by_source.items():
        if len(sharing) > 1:
            raise ConfigError(f"objectives {' and '.join(sharing)} both read {source!r}; an objective counts once")
    return objectives


_CONSTRAINT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.\-:]*)\s*(<=|>=|<|>)\s*([-+0-9.eE]+)\s*$")


@dataclass(frozen=True)
class Constraint:
    """A limit on a metric, e.g. ``latency<=5``; a violation is measured relative to the limit.

    Attributes:
        metric: an objective name or a metric the evaluator supplies.
        operator: "<=" or ">=" (strict forms are treated as their non-strict ones).
        limit: the bound.
    """

    metric: str
    operator: str
    limit: float

    def violation(self, value: float) -> float:
        """0 when satisfied, else how far ``value`` is beyond the limit, relative to ``|limit|``."""
        if math.isnan(value):
            return math.inf
        excess = value - self.limit if self.operator == "<=" else self.limit - value
        return max(0.0, excess) / (abs(self.limit) or 1.0)

    @property
    def spec(self) -> str:
        return f"{self.metric}{self.operator}{self.limit!r}"


def parse_constraint(spec: str) -> Constraint:
    """Parses ``METRIC<=VALUE`` or ``METRIC>=VALUE``."""
    match = _CONSTRAINT.match(spec)
    if not match:
        raise ConfigError(f"ill-formed constraint {spec!r}; expected e.g. latency<=5 or acc>=90")
    metric, operator, limit = match.groups()
    try:
        value = float(limit)
    except ValueError:
        raise ConfigError(f"constraint {spec!r}: {limit!r} is not a number") from None
    if not math.isfinite(value):
        raise ConfigError(f"constraint {spec!r}: the limit must be finite")
    _check_not_reserved(metric, "constraint on")
    return Constraint(metric=metric, operator=operator[0] + "=", limit=value)


def metric_sources(objectives: Sequence[Objective], constraints: Sequence[Constraint]) -> dict[str, str]:
    """Metric name in an `Individual` -> the evaluator's source for it, objectives first."""
    sources = {o.name: o.source for o in objectives}
    for c in constraints:
        sources.setdefault(c.metric, c.metric)
    return sources


def minimisation_matrix(metrics: Sequence[Mapping[str, float]], objectives: Sequence[Objective]) -> np.ndarray:
    """An (n, n_objectives) array of objective values, each turned into one to minimise."""
    values = np.array([[m[o.name] for o in objectives] for m in metrics], dtype=float).reshape(len(metrics), len(objectives))
    return values * np.array([o.sign for o in objectives])


def total_violation(metrics: Mapping[str, float], constraints: Sequence[Constraint]) -> float:
    """Sum of relative violations of all constraints (0 means feasible)."""
    return float(sum(c.violation(metrics[c.metric]) for c in constraints))
