"""The `TrainingStrategy` base: which paths of the supernet each training step trains.

A strategy sees the step and may score paths (with the current shared weights, on a fixed set of
training images held out of the supernet's training), so that sampling can follow the supernet's
own judgement (GreedyNAS keeps the best of several sampled paths and a pool of good ones; EPS
evolves the population of paths it samples from). Whatever it remembers between steps it returns
from ``state``, which is checkpointed with the supernet as JSON, and takes back in ``restore``.

A strategy's options are keyword-only arguments of its constructor, checked there (`ConfigError`
naming the value); `options` returns them all, defaults included, for the run's records.
"""

from __future__ import annotations

import abc
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from evonas.errors import ConfigError
from evonas.genotype import Genotype
from evonas.spaces.base import SearchSpace

# Draws of a path within the constraints before a strategy gives up (the limits admit almost nothing).
ADMISSIBLE_DRAWS = 10_000


@dataclass(frozen=True)
class TrainingStep:
    """What a strategy knows about the step it chooses paths for.

    Attributes:
        step: index of the step, from 0.
        total_steps: steps of the whole training.
        score: how good a path is with the current weights: minus its mean cross-entropy on the
            scoring set (training images the supernet never trains on, the same for every path);
            higher is better. Loss rather than accuracy, so that paths on a small set rarely tie.
    """

    step: int
    total_steps: int
    score: Callable[[Genotype], float]


class TrainingStrategy(abc.ABC):
    """Chooses the paths that each supernet training step trains (their losses are averaged).

    Args:
        space: the search space whose supernet is trained.
        admissible: whether a path may be trained (the run's constraints on size, FLOPs, latency);
            every path a strategy returns satisfies it. None admits every path.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    scores_paths: ClassVar[bool] = False  # whether it calls `TrainingStep.score` (the supernet then holds the scoring set out)

    def __init__(self, space: SearchSpace, *, admissible: Callable[[Genotype], bool] | None = None) -> None:
        self.space = space
        self.admissible = admissible or (lambda genotype: True)

    @classmethod
    def option_names(cls) -> list[str]:
        """The options this strategy takes (keyword-only constructor arguments)."""
        parameters = inspect.signature(cls.__init__).parameters.values()
        return [p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name != "admissible"]

    def options(self) -> dict[str, Any]:
        """Every option's value, defaults included (JSON-compatible)."""
        return {name: getattr(self, name) for name in self.option_names()}

    def sample(self, rng: np.random.Generator) -> Genotype:
        """A uniformly drawn admissible path (rejection sampling from ``rng``)."""
        for _ in range(ADMISSIBLE_DRAWS):
            genotype = self.space.sample(rng)
            if self.admissible(genotype):
                return genotype
        raise ConfigError(f"no path of space {self.space.name!r} within the constraints in {ADMISSIBLE_DRAWS} random draws; loosen --constraint")

    @abc.abstractmethod
    def paths(self, step: TrainingStep, rng: np.random.Generator) -> list[Genotype]:
        """The paths to train at ``step``; draws only from ``rng``."""

    def seeds(self) -> list[Genotype]:
        """Paths the strategy proposes to the search after training, best first (none by default)."""
        return []

    def state(self) -> dict[str, Any]:
        """What the strategy must remember across a resume, as JSON-compatible data."""
        return {}

    def restore(self, state: dict[str, Any]) -> None:
        """Takes back what `state` returned."""


def whole_number(strategy: str, name: str, value: Any, minimum: int) -> int:
    """``value`` as an int of at least ``minimum``; otherwise a `ConfigError` naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(f"strategy {strategy!r}: option {name} must be a whole number of at least {minimum}, got {value!r}")
    return int(value)


def fraction(strategy: str, name: str, value: Any, *, above_zero: bool = False) -> float:
    """``value`` as a float in [0, 1] (or (0, 1]); otherwise a `ConfigError` naming it."""
    ok = isinstance(value, (int, float, np.number)) and not isinstance(value, bool) and (0 < value <= 1 if above_zero else 0 <= value <= 1)
    if not ok:
        interval = "(0, 1]" if above_zero else "[0, 1]"
        raise ConfigError(f"strategy {strategy!r}: option {name} must be a number in {interval}, got {value!r}")
    return float(value)
