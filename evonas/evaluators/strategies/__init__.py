"""Supernet training strategies: one module per strategy, one line per strategy in `STRATEGIES`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from evonas.errors import ConfigError
from evonas.evaluators.strategies.base import TrainingStep, TrainingStrategy
from evonas.genotype import Genotype
from evonas.registry import Registry
from evonas.spaces.base import SearchSpace

__all__ = ["DEFAULT_STRATEGY", "STRATEGIES", "TrainingStep", "TrainingStrategy", "make_strategy"]

STRATEGIES = Registry(
    "strategy",
    {
        "spos": "evonas.evaluators.strategies.spos:SPOS",
        "greedy": "evonas.evaluators.strategies.greedy:GreedyNAS",
        "eps": "evonas.evaluators.strategies.eps:EPS",
    },
    group="evonas.strategies",
)

DEFAULT_STRATEGY = "spos"  # the main job's: see README, "Supernet training strategies"


def make_strategy(
    name: str, space: SearchSpace, options: Mapping[str, Any] | None = None, admissible: Callable[[Genotype], bool] | None = None
) -> TrainingStrategy:
    """Builds the strategy registered as ``name``; an option it does not take is a `ConfigError` listing those it takes."""
    cls = STRATEGIES[name]
    if not (isinstance(cls, type) and issubclass(cls, TrainingStrategy)):
        raise ConfigError(f"strategy {name!r} is {cls!r}, not a subclass of evonas.evaluators.strategies.TrainingStrategy")
    options = dict(options or {})
    unknown = sorted(set(options) - set(cls.option_names()))
    if unknown:
        raise ConfigError(
            f"strategy {name!r} does not take option {', '.join(map(repr, unknown))}"
            f" (it takes: {', '.join(cls.option_names()) or 'no options'})"
        )
    return cls(space, admissible=admissible, **options)
