"""The `TrainingStrategy` base: which paths of the supernet each training step trains.

A strategy sees the step and may score paths (their accuracy, with the current shared weights, on a
fixed batch of held-out training images), so that sampling can follow the supernet's own judgement
(GreedyNAS keeps the best of several sampled paths and a pool of good ones; EPS evolves the
population of paths it samples from). Whatever it remembers between steps it returns from
``state``, which is checkpointed with the supernet as JSON, and takes back in ``restore``.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from evonas.genotype import Genotype
from evonas.spaces.base import SearchSpace


@dataclass(frozen=True)
class TrainingStep:
    """What a strategy knows about the step it chooses paths for.

    Attributes:
        step: index of the step, from 0.
        total_steps: steps of the whole training.
        score: accuracy (%) of a path on the fixed scoring batch with the current weights.
    """

    step: int
    total_steps: int
    score: Callable[[Genotype], float]


class TrainingStrategy(abc.ABC):
    """Chooses the paths that each supernet training step trains (their losses are averaged).

    Args:
        space: the search space whose supernet is trained.
    """

    name: ClassVar[str]
    description: ClassVar[str]

    def __init__(self, space: SearchSpace) -> None:
        self.space = space

    @abc.abstractmethod
    def paths(self, step: TrainingStep, rng: np.random.Generator) -> list[Genotype]:
        """The paths to train at ``step``; draws only from ``rng``."""

    def state(self) -> dict[str, Any]:
        """What the strategy must remember across a resume, as JSON-compatible data."""
        return {}

    def restore(self, state: dict[str, Any]) -> None:
        """Takes back what `state` returned."""
