"""Evaluators made of user code: `FunctionEvaluator` runs a plain function ``f(genotype, context) -> dict[str, float]``;
`ExternalEvaluator` evaluates nothing itself (its run's caller does, through ``ask``/``tell`` of `evonas.open_run`).

A function is named in ``run.json`` by a reference, ``"module:qualified.name"``: a function given in this
process (`function_reference`) is found under it first, any other is imported, so a run of a function in an
importable module can be resumed by another process. The function travels to worker processes by value
(cloudpickle), so one defined in a script or a notebook is evaluated in parallel too.
"""

from __future__ import annotations

import functools
import importlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from evonas.errors import ConfigError
from evonas.evaluators.base import Candidate, Evaluation, Evaluator
from evonas.genotype import Genotype
from evonas.registry import target_of
from evonas.spaces.base import SearchSpace

if TYPE_CHECKING:
    from evonas.data import Dataset

EvaluationFunction = Callable[[Genotype, "EvaluationContext"], Mapping[str, float]]

# Functions given in this process, by their reference: the newest given under a reference wins (a function
# defined again in a notebook replaces the old one).
_FUNCTIONS: dict[str, EvaluationFunction] = {}


def function_reference(function: EvaluationFunction) -> str:
    """The reference ``"module:qualified.name"`` that names ``function`` in ``run.json``; remembers the function
    under it, so this process finds it even where the name cannot be imported (a lambda, a nested function)."""
    if not callable(function):
        raise ConfigError(f"an evaluation function must be callable, got {function!r}")
    if isinstance(function, functools.partial):  # its bound arguments live only in this process: never imported
        reference = f"{function.func.__module__}:{function.func.__qualname__}(partial)"
    else:
        reference = target_of(function)
    _FUNCTIONS[reference] = function
    return reference


def resolve_function(reference: str) -> EvaluationFunction:
    """The function a reference names (`function_reference`); `ConfigError` if there is none."""
    if reference in _FUNCTIONS:
        return _FUNCTIONS[reference]
    module, _, name = reference.partition(":")
    target: Any = None
    try:
        target = importlib.import_module(module)
        for part in name.split("."):
            target = getattr(target, part)
    except (ImportError, AttributeError, ValueError):
        target = None
    if not name or not callable(target):
        raise ConfigError(f"cannot find the evaluation function {reference!r}: give the function itself in this process")
    return target


@dataclass(frozen=True)
class EvaluationContext:
    """What an evaluation function is told besides the genotype.

    Attributes:
        uid: the candidate's run-wide identifier.
        arch: the genotype's canonical string (as ``evaluations.csv`` writes it).
        chosen: gene name -> the chosen option (`SearchSpace.chosen`).
        generation: the generation it belongs to.
        parents: the uids it was made from.
        operator: what made it ("sample", "neighbour", ...).
        seed: a 63-bit seed of this evaluation's own random stream (for ``torch.Generator().manual_seed``):
            it depends on the run's seed and the uid only, so results repeat with any number of workers.
        rng: a numpy generator on the same stream.
        space: the search space.
        state_dir: the run's ``evaluator/`` folder, for state kept across evaluations (None outside a run).
        data: the run's data split by the run's seed (`evonas.data.Dataset`: train, validation, test), if the
            run was given ``data``; else None.
    """

    uid: int
    arch: str
    chosen: dict[str, Any]
    generation: int
    parents: tuple[int, ...]
    operator: str
    seed: int
    rng: np.random.Generator = field(repr=False)
    space: SearchSpace = field(repr=False)
    state_dir: Path | None = None
    data: Dataset | None = field(default=None, repr=False)


def measured(result: Any, sources: Mapping[str, str], what: str) -> Evaluation:
    """The `Evaluation` of what an evaluation gave (metric source -> value): each of the run's metrics by its
    name; `ConfigError` naming a metric that is missing or not a number. A non-finite value is a failed
    evaluation (as `evonas.parallel` records one)."""
    if not isinstance(result, Mapping):
        raise ConfigError(f"{what} must give a dict of metric values, got {type(result).__name__}")
    metrics = {}
    for name, source in sources.items():
        if source not in result:
            raise ConfigError(f"{what} gave no {source!r} (it gave: {', '.join(map(str, result)) or 'nothing'})")
        try:
            metrics[name] = float(result[source])
        except (TypeError, ValueError):
            raise ConfigError(f"{what} gave {source}={result[source]!r}, not a number") from None
    not_finite = [name for name, value in metrics.items() if not math.isfinite(value)]
    return Evaluation(metrics, status=f"failed: {', '.join(not_finite)} not finite" if not_finite else "ok")


class ExternalEvaluator(Evaluator):
    """The evaluator of a run whose caller evaluates its candidates (``run.ask()`` / ``run.tell(...)``); it only
    makes each candidate's `EvaluationContext`.

    Args:
        data: the run's data (as ``--data``: an embedded dataset's name, a ``.npz`` file or a folder of class
            folders), loaded and split by the run's seed into ``context.data``; part of the run's fingerprint.
    """

    name: ClassVar[str] = "external"
    description: ClassVar[str] = "evaluated by the run's caller (Python: run.ask() / run.tell())"
    external: ClassVar[bool] = True

    def __init__(
        self, *, space: SearchSpace, sources: Mapping[str, str], state_dir: Path | None = None, seed: int = 0, data: str | None = None
    ) -> None:
        super().__init__(space=space, sources=sources, state_dir=state_dir, seed=seed)
        self.data = data
        self._dataset: Dataset | None = None

    def inputs(self) -> dict[str, Path | str]:
        from evonas.data import data_input

        return {"data": data_input(self.data)} if self.data is not None else {}

    def prepare(self, *, progress: bool = True) -> None:
        """Loads the data (so a problem with it is found before the first evaluation)."""
        self.dataset()

    def dataset(self) -> Dataset | None:
        """The run's data split by its seed, loaded once; None without ``data``."""
        if self.data is not None and self._dataset is None:
            from evonas.data import load_dataset

            self._dataset = load_dataset(self.data, seed=self.seed)
        return self._dataset

    def context(self, candidate: Candidate) -> EvaluationContext:
        """What an evaluation of ``candidate`` is told."""
        return EvaluationContext(
            uid=candidate.uid,
            arch=candidate.arch,
            chosen=self.space.chosen(candidate.genotype),
            generation=candidate.generation,
            parents=candidate.parents,
            operator=candidate.operator,
            seed=int(candidate.seed.generate_state(1, dtype=np.uint64)[0] >> 1),
            rng=np.random.default_rng(candidate.seed),
            space=self.space,
            state_dir=self.state_dir,
            data=self.dataset(),
        )

    def evaluate_one(self, candidate: Candidate) -> Evaluation:
        raise ConfigError("this run's candidates are evaluated by its caller: run.ask(), then run.tell(candidate, metrics)")

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_dataset": None}  # a worker loads the data itself, once


class FunctionEvaluator(ExternalEvaluator):
    """Evaluates each candidate with a plain function ``f(genotype, context) -> dict[str, float]``.

    ``f`` returns a value for every metric the run needs, by the metric's source: the objective's name, or
    ``COLUMN`` of an objective ``NAME=COLUMN``; more keys are ignored. A missing metric, a raised exception
    or a non-finite value is a failed evaluation (tried once more, then recorded as ``failed: <reason>``).
    ``f`` must depend only on the genotype and the context (its seed, the data, its parents' state in
    ``state_dir``), so that results do not depend on the workers; it runs in worker processes with ``jobs``.

    Args:
        function: `function_reference` of ``f``.
        data: as for `ExternalEvaluator`.
    """

    name: ClassVar[str] = "function"
    description: ClassVar[str] = "a Python function f(genotype, context) -> dict[str, float] (evonas.evolve)"
    external: ClassVar[bool] = False

    def __init__(
        self, *, space: SearchSpace, sources: Mapping[str, str], state_dir: Path | None = None, seed: int = 0,
        function: str, data: str | None = None,
    ) -> None:
        super().__init__(space=space, sources=sources, state_dir=state_dir, seed=seed, data=data)
        self.reference = function
        self.function = resolve_function(function)

    def evaluate_one(self, candidate: Candidate) -> Evaluation:
        result = self.function(candidate.genotype, self.context(candidate))
        return measured(result, self.sources, f"the evaluation function {self.reference}")

    def __getstate__(self) -> dict[str, Any]:
        import cloudpickle

        return {**super().__getstate__(), "function": cloudpickle.dumps(self.function)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        import pickle

        self.__dict__.update(state, function=pickle.loads(state["function"]))
