"""The `Evaluator` base: turns candidates into metric values, one result per candidate, in order."""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from evonas.genotype import Genotype, Individual
from evonas.spaces.base import SearchSpace

if TYPE_CHECKING:
    import torch

    from evonas.objectives import Constraint


@dataclass(frozen=True)
class Candidate:
    """A genotype to evaluate, with its run-wide uid, its own random stream's seed and its lineage.

    Attributes:
        uid: run-wide identifier, in order of creation.
        genotype: the architecture.
        arch: its canonical string.
        seed: the seed of this evaluation's own random stream (never a worker's).
        generation: the generation it belongs to.
        parents: uids of the individuals it was made from (empty for sampled and seeded ones); each
            parent is in the population last handed to `Evaluator.survived`, or was evaluated earlier
            in this run.
        operator: what made it ("sample", "seed", "neighbour", "uniform+resample", ...).
    """

    uid: int
    genotype: Genotype
    arch: str
    seed: np.random.SeedSequence = field(compare=False)
    generation: int = 0
    parents: tuple[int, ...] = ()
    operator: str = "sample"


@dataclass(frozen=True)
class Evaluation:
    """What evaluating a candidate gave: metric name -> value, and whether it worked."""

    metrics: dict[str, float]
    status: str = "ok"
    seconds: float = 0.0


class Evaluator(abc.ABC):
    """Measures the metrics a search needs.

    The search calls, in this order: `prepare` once before the first evaluation; `seeds` once, for
    generation 0; then per generation `evaluate_one` on each new candidate (perhaps in worker
    processes) and, once the generation is checkpointed, `survived` with the population that
    survived it. On resume, `survived` is called first with the restored population, so an
    evaluator that keeps per-individual state (live networks) knows which of it is still needed.

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
    # True for an evaluator whose evaluations cost less than sending them to a worker (a table lookup): every
    # executor of `evonas.parallel` evaluates it in the search's own process.
    in_process: ClassVar[bool] = False
    # True for an evaluator that measures nothing itself: its run's caller evaluates each candidate and tells the
    # result (`evonas.open_run`); `Search.step` refuses to run it.
    external: ClassVar[bool] = False
    # The run's constraints, set by `make_evaluator` after construction: an evaluator that trains keeps
    # paths outside them out of its training (the search still judges every candidate against them).
    constraints: tuple[Constraint, ...] = ()

    def __init__(self, *, space: SearchSpace, sources: Mapping[str, str], state_dir: Path | None = None, seed: int = 0) -> None:
        self.space = space
        self.sources = dict(sources)
        self.state_dir = state_dir
        self.seed = seed

    def prepare(self, *, progress: bool = True) -> None:
        """Work before the first evaluation (training a supernet); resumable from ``state_dir``."""

    def inputs(self) -> dict[str, Path | str]:
        """The files and datasets the results depend on, for the run's fingerprint: name -> a file or folder
        (its content is hashed) or the name of an embedded dataset. None by default."""
        return {}

    def seeds(self) -> list[Genotype]:
        """Architectures the evaluator proposes for generation 0, best first (a trained supernet's
        candidate pool, an evolved proxy population); called once, after `prepare`. The search
        records them in the run directory, evaluates up to a population of them in generation 0
        and draws the rest as usual. None by default."""
        return []

    def evaluate(self, candidates: Sequence[Candidate]) -> Iterator[Evaluation]:
        """Yields one `Evaluation` per candidate, in the order given: `evaluate_one` on each."""
        for candidate in candidates:
            yield self.evaluate_one(candidate)

    @abc.abstractmethod
    def evaluate_one(self, candidate: Candidate) -> Evaluation:
        """Measures one candidate. Depends only on the evaluator's state and the candidate (its own
        seed, its parents' state kept in ``state_dir``), never on other candidates of the generation,
        so candidates can be measured in any order, in other processes.

        The search runs it through `evonas.parallel`: the evaluator, pickled after `prepare`, is
        measured with in worker processes (perhaps on other machines, which then need ``state_dir``
        on a shared file system); what `evaluate_one` changes in the evaluator stays in the worker.
        A raised exception or a non-finite metric is a failed evaluation (tried once more)."""

    def on_worker(self) -> None:
        """Called in a worker process once the evaluator has been unpickled there (to fix torch's
        thread count, say). Nothing by default."""

    def survived(self, generation: int, population: Sequence[Individual], next_uid: int) -> None:
        """Hears which individuals survived ``generation`` (after its checkpoint is on disk).

        Individuals with a uid below ``next_uid`` that are not in ``population`` will never be a
        parent again, so whatever the evaluator keeps for them can be freed; uids from ``next_uid``
        on are not decided yet (a resumed run may reuse their evaluations). Nothing by default.
        """

    def inherited_network(self, genotype: Genotype) -> torch.nn.Module | None:
        """The stand-alone network ``genotype`` was measured with (built with `build_options`), carrying the
        weights it inherited from a supernet or, by surgery, from a parent; None for an evaluator that keeps
        no weights (a table, training from scratch). For export after a search."""
        return None
