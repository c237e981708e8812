"""The `Evaluator` base: turns candidates into metric values, one result per candidate, in order."""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from evonas.genotype import Genotype
from evonas.spaces.base import SearchSpace

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Candidate:
    """A genotype to evaluate, with its run-wide uid and its own random stream's seed."""

    uid: int
    genotype: Genotype
    arch: str
    seed: np.random.SeedSequence = field(compare=False)


@dataclass(frozen=True)
class Evaluation:
    """What evaluating a candidate gave: metric name -> value, and whether it worked."""

    metrics: dict[str, float]
    status: str = "ok"
    seconds: float = 0.0


class Evaluator(abc.ABC):
    """Measures the metrics a search needs.

    Args:
        space: the search space of the candidates.
        sources: metric name (as the run reports it) -> the evaluator's own source for it
            (a table column, ``latency:measured``, ...).
        state_dir: folder of the run directory where the evaluator keeps its state.
        seed: the run's seed (evaluators that train derive their streams from it).

    Subclasses take their own options as keyword-only arguments and raise `ConfigError`
    (naming the value) for bad ones.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    # Keyword arguments of ``space.build`` for the networks this evaluator measures; None if it builds none.
    build_options: dict[str, Any] | None = None

    def __init__(self, *, space: SearchSpace, sources: Mapping[str, str], state_dir: Path | None = None, seed: int = 0) -> None:
        self.space = space
        self.sources = dict(sources)
        self.state_dir = state_dir
        self.seed = seed

    def prepare(self, *, progress: bool = True) -> None:
        """Work before the first evaluation (training a supernet); resumable from ``state_dir``."""

    @abc.abstractmethod
    def evaluate(self, candidates: Sequence[Candidate]) -> Iterator[Evaluation]:
        """Yields one `Evaluation` per candidate, in the order given."""

    def inherited_network(self, genotype: Genotype) -> torch.nn.Module | None:
        """The stand-alone network ``genotype`` was measured with (built with `build_options`), carrying the
        weights it inherited from a supernet or, by surgery, from a parent; None for an evaluator that keeps
        no weights (a table, training from scratch). For export after a search."""
        return None
