"""The Python API: a search space defined in code, an evaluator from a function, `evolve`, and ask/tell.

Everything here is re-exported from `evonas`; a run made here is the same run directory as one of
``evonas evolve``'s (`evonas show`, `plot` and `report` read it), and resumes as exactly.

- `Space`: genes with their choices and a ``build`` function; a `SearchSpace`, so every operator,
  the population manager and the network evaluators work on it.
- An evaluator: a plain function ``f(genotype, context) -> dict[str, float]`` (`FunctionEvaluator`,
  told an `EvaluationContext`), a subclass of `Evaluator` (the class itself; its options as
  ``evaluator_options``), or a registered name (``"table"``, ``"supernet"``, ``"train"``, ...).
- `evolve` runs a search to its budget and returns a `Result`; `open_run` returns a `Run` whose
  candidates you evaluate yourself: ``run.ask()``, then ``run.tell(candidate, metrics)``.
"""

from __future__ import annotations

import functools
import inspect
import json
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evonas.errors import ArchitectureError, ConfigError
from evonas.evaluators.base import Candidate, Evaluator
from evonas.evaluators.function import (
    EvaluationContext,
    ExternalEvaluator,
    FunctionEvaluator,
    function_reference,
    measured,
)
from evonas.genotype import Genotype, Individual
from evonas.objectives import Constraint, Objective
from evonas.spaces.base import Gene, SearchSpace

__all__ = ["EvaluationContext", "FunctionEvaluator", "Result", "Run", "Space", "evolve", "open_run"]

# Characters that separate genes, and a gene's name from its choice, in a `Space`'s arch strings: "depth=2|width=16".
_SEPARATORS = ("|", "=")
_FUNCTION_TARGET = "evonas.evaluators.function:FunctionEvaluator"
_EXTERNAL_TARGET = "evonas.evaluators.function:ExternalEvaluator"


class Space(SearchSpace):
    """A search space defined in code: named genes, each a list of choices, and a function that builds the network.

    Its arch string lists the choices by gene, ``"depth=2|width=16|kernel=3"``. A gene whose choices are
    numbers in increasing order is ordinal (Pareto local search steps to an adjacent choice first). Creating
    a space registers it under ``name`` (`evonas.spaces.SPACES`), so the name then works wherever a
    space's name does; a name is one space per process.

    Args:
        name: the space's name in ``run.json`` and in arch strings' genotypes.
        genes: gene name -> its choices (numbers, strings or booleans; at least one each, distinct).
        build: ``build(chosen, *, num_classes, in_channels, image_size, **options) -> torch.nn.Module``,
            ``chosen`` the gene name -> choice dict of a genotype; optional (needed by `SearchSpace.build`
            and so by the ``train`` and ``zero-cost`` evaluators). Its initial weights come from the
            generator `SearchSpace.build` is given.
        description: one line for ``evonas spaces``-style listings.

    Example::

        space = evonas.Space(name="tiny-cnn", genes={"depth": [1, 2, 3], "width": [8, 16, 32]}, build=build)
    """

    def __init__(
        self, *, name: str, genes: Mapping[str, Sequence[Any]], build: Callable[..., Any] | None = None,
        description: str = "a search space defined in Python",
    ) -> None:
        if not isinstance(name, str) or not name.strip() or name != name.strip():
            raise ConfigError(f"a space needs a name without surrounding spaces, got {name!r}")
        if not isinstance(genes, Mapping) or not genes:
            raise ConfigError(f"space {name!r} needs genes: a dict of gene name -> choices, got {genes!r}")
        if build is not None and not callable(build):
            raise ConfigError(f"space {name!r}: build must be a function, got {build!r}")
        self.name = name
        self.description = description
        self._values = {gene: _checked_choices(name, gene, choices) for gene, choices in genes.items()}
        self.genes = tuple(
            Gene(gene, tuple(str(v) for v in values), ordinal=_is_increasing(values)) for gene, values in self._values.items()
        )
        self._build = build
        _register(self)

    def chosen(self, genotype: Genotype) -> dict[str, Any]:
        self.validate(genotype)
        return {gene: values[i] for (gene, values), i in zip(self._values.items(), genotype.genes)}

    def definition(self) -> dict[str, Any]:
        return {"genes": [[gene, list(values)] for gene, values in self._values.items()]}  # a list: order counts

    def encode(self, genotype: Genotype) -> str:
        self.validate(genotype)
        return "|".join(f"{gene.name}={gene.choices[i]}" for gene, i in zip(self.genes, genotype.genes))

    def decode(self, text: str) -> Genotype:
        parts = [part.partition("=") for part in str(text).split("|")]
        names = [gene.name for gene in self.genes]
        if [part[0] for part in parts] != names or any(not sep for _, sep, _ in parts):
            raise ArchitectureError(f"{text!r} is not an architecture of space {self.name!r}: expected {self.example}")
        genes = []
        for gene, (_, _, choice) in zip(self.genes, parts):
            if choice not in gene.choices:
                raise ArchitectureError(f"{text!r}: {gene.name} has no choice {choice!r} (choices: {', '.join(gene.choices)})")
            genes.append(gene.choices.index(choice))
        return Genotype(self.name, tuple(genes))

    @property
    def example(self) -> str:
        """The arch string of the first genotype, to show the form."""
        return self.encode(Genotype(self.name, (0,) * len(self.genes)))

    def network(self, genes: Sequence[int] | None, *, num_classes: int, in_channels: int, image_size: int, **options: Any) -> Any:
        if self._build is None:
            raise ConfigError(f"space {self.name!r} has no build function: Space(..., build=...) builds its networks")
        if genes is None:
            raise ConfigError(f"space {self.name!r} has no supernet: use a function, a trained or a table evaluator")
        chosen = self.chosen(Genotype(self.name, tuple(genes)))
        return self._build(chosen, num_classes=num_classes, in_channels=in_channels, image_size=image_size, **options)

    def __getstate__(self) -> dict[str, Any]:
        import cloudpickle  # a build function from a script travels by value

        return {**self.__dict__, "_build": cloudpickle.dumps(self._build)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        import pickle

        from evonas.spaces import SPACES

        self.__dict__.update(state, _build=pickle.loads(state["_build"]))
        if self.name not in SPACES:  # in a worker process: the name is this space there too
            SPACES.register(self.name, self)


def _checked_choices(space: str, gene: str, choices: Any) -> tuple[Any, ...]:
    if not isinstance(gene, str) or not gene or any(s in gene for s in _SEPARATORS) or gene != gene.strip():
        raise ConfigError(f"space {space!r}: gene name {gene!r} must be a non-empty string without '|' or '='")
    if isinstance(choices, (str, bytes)) or not isinstance(choices, Iterable):
        raise ConfigError(f"space {space!r}: gene {gene!r} needs a list of choices, got {choices!r}")
    values = tuple(choices)
    if not values:
        raise ConfigError(f"space {space!r}: gene {gene!r} has no choices")
    for value in values:
        if not isinstance(value, (bool, int, float, str)) or any(s in str(value) for s in _SEPARATORS) or not str(value):
            raise ConfigError(
                f"space {space!r}: gene {gene!r} has the choice {value!r}; choices are numbers, booleans or non-empty "
                "strings without '|' or '='"
            )
    names = [str(v) for v in values]
    if len(set(names)) < len(names):
        raise ConfigError(f"space {space!r}: gene {gene!r} lists a choice twice: {list(values)}")
    return values


def _is_increasing(values: Sequence[Any]) -> bool:
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    return numbers and len(values) > 1 and all(a < b for a, b in zip(values, values[1:]))


def _register(space: Space) -> None:
    from evonas.spaces import SPACES

    if space.name in SPACES and SPACES[space.name] is not space:
        raise ConfigError(f"space name {space.name!r} is taken by another space; give this one another name")
    SPACES.register(space.name, space)


@dataclass(frozen=True)
class Result:
    """What `evolve` returns: the run's front and where the run is.

    Attributes:
        front: the feasible non-dominated individuals (each with ``arch``, ``genotype``, ``metrics``), best
            first by the first objective.
        run_dir: the run directory (``front.csv``, ``evaluations.csv``, ``run.json``, ...).
        objectives: the run's objectives.
        evaluated: distinct architectures evaluated.
    """

    front: list[Individual]
    run_dir: Path
    objectives: tuple[Objective, ...]
    evaluated: int

    def to_rows(self) -> list[dict[str, Any]]:
        """The front as ``front.csv`` lists it: one dict per architecture, ``arch`` then each objective."""
        return [{"arch": ind.arch, **{o.name: ind.metrics[o.name] for o in self.objectives}} for ind in self.front]


class Run:
    """An open run directory (locked until `close`, or the end of a ``with`` block), advanced by `ask`/`tell`.

    Made by `open_run`. Each generation, `ask` gives the candidates to evaluate and `tell` records each one's
    metrics (from any thread, in any order); the generation is checkpointed when its last candidate is
    told, and the next `ask` gives the next generation's. A run opened again after a crash, even in the
    middle of a generation, asks the candidates not yet told again (what was told is kept), and ends with
    the front an uninterrupted run would have.
    """

    def __init__(self, search: Any) -> None:
        self.search = search
        self._lock = threading.Lock()
        self._prepared = False

    @property
    def run_dir(self) -> Path:
        return self.search.store.path

    @property
    def space(self) -> SearchSpace:
        return self.search.space

    @property
    def objectives(self) -> tuple[Objective, ...]:
        return self.search.objectives

    @property
    def finished(self) -> bool:
        """Whether the budget is spent: `ask` then gives no more candidates."""
        return self.search.finished

    @property
    def generation(self) -> int:
        """The last generation checkpointed (-1 before the first)."""
        return self.search.generation

    @property
    def evaluated(self) -> int:
        """Distinct architectures evaluated and checkpointed."""
        return self.search.evaluated

    def _prepare(self) -> None:
        if not self._prepared and not self.search.finished:
            self.search.evaluator.prepare(progress=False)
        self._prepared = True

    def ask(self) -> list[Candidate]:
        """The current generation's candidates still to be told: each has ``uid``, ``genotype``, ``arch``,
        ``generation``, ``parents``, ``operator``. [] once the run is finished (or, rarely, when a generation
        needed no evaluation: ask again while not `finished`)."""
        with self._lock:
            self._prepare()
            return self.search.ask()

    def context(self, candidate: Candidate) -> EvaluationContext:
        """The `EvaluationContext` an evaluation function would be told for ``candidate`` (its seed, the data)."""
        evaluator = self.search.evaluator
        if not isinstance(evaluator, ExternalEvaluator):
            raise ConfigError(f"the {evaluator.name!r} evaluator gives no evaluation context")
        with self._lock:
            self._prepare()
        return evaluator.context(candidate)

    def tell(self, candidate: Candidate, metrics: Mapping[str, float] | None = None, *, failure: str | None = None,
             seconds: float = 0.0) -> Individual:
        """Records what evaluating ``candidate`` gave and returns it as an `Individual`.

        Args:
            candidate: one of `ask`'s candidates, told once.
            metrics: a value for every metric the run needs, by the metric's source (as an evaluation function
                returns them); a non-finite value makes it a failed evaluation.
            failure: instead of metrics, why the evaluation failed (it is recorded as ``failed: <failure>``
                and never enters the front).
            seconds: how long the evaluation took (``evaluations.csv``'s ``seconds``).
        """
        from evonas.evaluators.base import Evaluation

        if (metrics is None) == (failure is None):
            raise ConfigError(f"tell candidate {candidate.uid} either its metrics or failure=<why it failed>")
        sources = self.search.evaluator.sources
        if failure is not None:
            evaluation = Evaluation(dict.fromkeys(sources, float("nan")), status=f"failed: {' '.join(str(failure).split())}")
        else:
            evaluation = measured(metrics, sources, f"the metrics told for candidate {candidate.uid}")
        evaluation = Evaluation(evaluation.metrics, evaluation.status, float(seconds))
        with self._lock:
            return self.search.tell(candidate, evaluation)

    def front(self) -> list[Individual]:
        """The front of every generation checkpointed so far (a generation counts once its last candidate is told)."""
        return self.search.front()

    def run(self, *, progress: bool = False) -> Result:
        """Evaluates the remaining candidates with the run's evaluator (through its executor) to the end of the budget."""
        if self.search.evaluator.external:
            raise ConfigError(f"{self.run_dir} has no evaluator: evaluate its candidates with run.ask() and run.tell(...)")
        self._prepared = True
        with self._lock:
            self.search.run(progress=progress)
        return self.result()

    def result(self) -> Result:
        """The front and the run directory now."""
        return Result(list(self.search.front()), self.run_dir, self.search.objectives, self.search.evaluated)

    def close(self) -> None:
        """Releases the run directory (and the executor's workers)."""
        self.search.close()
        self.search.executor.close()

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _space_name(space: SearchSpace | str) -> str:
    if isinstance(space, str):
        from evonas.spaces import get_space

        get_space(space)  # an unknown name fails here, naming the known ones
        return space
    if isinstance(space, Space):
        _register(space)
        return space.name
    raise ConfigError(f"space must be an evonas.Space or a registered space's name, got {space!r}")


def _evaluator(evaluator: Any, options: Mapping[str, Any], data: str | Path | None) -> tuple[str, dict[str, Any]]:
    """The registered name and options of ``evaluator``: a name, an `Evaluator` subclass, a function or None."""
    from evonas.evaluators import EVALUATORS

    options = dict(options)
    if data is not None:
        options["data"] = str(data)
    if evaluator is None:
        return "external", options
    if inspect.isfunction(evaluator) or inspect.ismethod(evaluator) or isinstance(evaluator, functools.partial):
        return "function", {**options, "function": function_reference(evaluator)}
    if isinstance(evaluator, str):
        EVALUATORS[evaluator]  # an unknown name fails here, naming the known ones
        return evaluator, options
    if isinstance(evaluator, type) and issubclass(evaluator, Evaluator):
        name = evaluator.__dict__.get("name") or f"{evaluator.__module__}.{evaluator.__qualname__}"
        if name in EVALUATORS and EVALUATORS[name] is not evaluator:
            raise ConfigError(f"evaluator name {name!r} is taken by another evaluator; give {evaluator.__qualname__} another name")
        EVALUATORS.register(name, evaluator)
        return name, options
    if isinstance(evaluator, Evaluator):
        raise ConfigError(
            f"pass the evaluator's class ({type(evaluator).__qualname__}), not an instance: evonas makes it with the run's "
            "space, metrics and state folder (its options as evaluator_options)"
        )
    raise ConfigError(
        f"evaluator must be a function f(genotype, context) -> dict, an Evaluator subclass or a registered name, got {evaluator!r}"
    )


def _specs(values: str | Iterable[str | Objective | Constraint] | None, what: str) -> tuple[str, ...]:
    if values is None:
        return ()
    if isinstance(values, (str, Objective, Constraint)):
        values = values.split(",") if isinstance(values, str) else [values]
    specs = []
    for value in values:
        if isinstance(value, (Objective, Constraint)):
            specs.append(value.spec)
        elif isinstance(value, str):
            specs.append(value)
        else:
            raise ConfigError(f"{what} are strings such as 'acc' or 'latency<=5' (or Objective/Constraint), got {value!r}")
    return tuple(specs)


def open_run(
    *,
    run_dir: str | Path | None = None,
    space: SearchSpace | str | None = None,
    evaluator: Any = None,
    objectives: str | Iterable[str | Objective] | None = None,
    constraints: str | Iterable[str | Constraint] | None = None,
    population: int | None = None,
    generations: int | None = None,
    evaluations: int | None = None,
    seed: int = 0,
    data: str | Path | None = None,
    evaluator_options: Mapping[str, Any] | None = None,
    search: Any = None,
    pipeline: Any = None,
    jobs: int = 1,
) -> Run:
    """Opens a run: a new one in ``run_dir``, or the run ``run_dir`` holds, continued exactly where it stopped.

    With ``objectives``, a run of these settings: a new one, or the one ``run_dir`` already holds if it was
    started with exactly these settings (a different one there is a `CheckpointError`). Without them,
    ``run_dir`` must hold a run, resumed as ``evonas resume`` would; give it the ``space``, ``evaluator``
    and ``pipeline`` objects it ran with when they are defined in code.

    Args:
        run_dir: the run directory (default ``checkpoints/<space>-<evaluator>-seed<seed>-<time>``).
        space: an `evonas.Space` or a registered name ("nb201", "macro", ...).
        evaluator: None (you evaluate: `Run.ask` / `Run.tell`), a function ``f(genotype, context) -> dict``,
            an `Evaluator` subclass, or a registered name ("table", "supernet", "train", ...).
        objectives: ``["acc", "latency"]``, ``"acc,latency"`` or `Objective` objects; forms as ``--objectives``
            (``NAME[=SOURCE][:min|max]``).
        constraints: ``["latency<=5"]`` or `Constraint` objects, as ``--constraint``.
        population: individuals per generation (24 by default; or give ``search``).
        generations, evaluations: the budget, as ``--generations`` / ``--evaluations``.
        seed: the run's seed.
        data: the data a function evaluator is told (``context.data``) or a network evaluator's ``--data``.
        evaluator_options: keyword options of an `Evaluator` subclass or a registered evaluator
            (``{"table": "nb201.csv"}``, ``{"epochs": 5}``).
        search: `evonas.populations.SearchOptions`, the search's settings (instead of ``population``).
        pipeline: a `evonas.populations.Pipeline` of one's own (see `evonas.search.Search`).
        jobs: local worker processes that evaluate candidates when the run's evaluator does (`Run.run`).
    """
    from evonas.evaluators import EVALUATORS
    from evonas.parallel import Parallelism
    from evonas.search import RunConfig, Search, default_run_dir

    # the API's own evaluators, so that a run of theirs reopens with its run_dir alone
    EVALUATORS.register("external", _EXTERNAL_TARGET)
    EVALUATORS.register("function", _FUNCTION_TARGET)
    if jobs is not None and (not isinstance(jobs, int) or jobs < 1):
        raise ConfigError(f"jobs must be a positive integer, got {jobs!r}")
    executor = Parallelism(jobs=jobs).open()
    try:
        if objectives is None:
            if run_dir is None:
                raise ConfigError("give objectives for a new run, or the run_dir of a run to continue")
            if space is not None:
                _space_name(space)
            if evaluator is not None:
                _evaluator(evaluator, {}, None)
            return Run(Search.resume(Path(run_dir), generations=generations, evaluations=evaluations, executor=executor, pipeline=pipeline))
        if space is None:
            raise ConfigError("a new run needs a space: an evonas.Space or a registered space's name")
        space_name = _space_name(space)
        evaluator_name, options = _evaluator(evaluator, evaluator_options or {}, data)
        config = RunConfig(
            space=space_name,
            evaluator=evaluator_name,
            evaluator_options=options,
            objectives=_specs(objectives, "objectives"),
            constraints=_specs(constraints, "constraints"),
            search=_search_options(space_name, population, search),
            generations=generations,
            evaluations=evaluations,
            seed=seed,
        )
        json.dumps(config.to_json())  # options that run.json could not hold fail here, before anything is written
        path = Path(run_dir) if run_dir is not None else default_run_dir(space_name, evaluator_name, seed)
        return Run(Search.start(config, path, executor=executor, pipeline=pipeline))
    except BaseException:
        executor.close()
        raise


def _search_options(space: str, population: int | None, search: Any) -> Any:
    from evonas.populations import SearchOptions
    from evonas.spaces import get_space

    if search is not None:
        if population is not None:
            raise ConfigError("give the population in search=SearchOptions(population=...) or as population=, not both")
        if not isinstance(search, SearchOptions):
            raise ConfigError(f"search must be evonas.populations.SearchOptions, got {search!r}")
        return search
    if population is not None and (not isinstance(population, int) or isinstance(population, bool)):
        raise ConfigError(f"population must be an integer, got {population!r}")
    operators = get_space(space).default_operators  # as `evonas evolve` picks them
    return SearchOptions(
        population=SearchOptions.population if population is None else population,
        crossover=operators.get("crossover", SearchOptions.crossover),
        mutation=operators.get("mutation", SearchOptions.mutation),
    )


def evolve(
    *,
    space: SearchSpace | str,
    evaluator: Any,
    objectives: str | Iterable[str | Objective],
    constraints: str | Iterable[str | Constraint] | None = None,
    population: int | None = None,
    generations: int | None = None,
    evaluations: int | None = None,
    seed: int = 0,
    run_dir: str | Path | None = None,
    jobs: int = 1,
    data: str | Path | None = None,
    evaluator_options: Mapping[str, Any] | None = None,
    search: Any = None,
    pipeline: Any = None,
    progress: bool = False,
) -> Result:
    """Runs a search to its budget and returns its front and run directory.

    The arguments are `open_run`'s (``evaluator`` must evaluate: a function, an `Evaluator` subclass or a
    registered name); ``progress`` shows the evaluator's preparation (supernet training) as a bar. Called
    again with the same arguments and ``run_dir``, it continues that run (after a crash) or, finished,
    returns its result.

    Example::

        result = evonas.evolve(space=space, evaluator=score, objectives=["acc", "params"], evaluations=40)
        result.front[0].arch, result.run_dir
    """
    if evaluator is None:
        raise ConfigError("evolve needs an evaluator; to evaluate candidates yourself use evonas.open_run with ask/tell")
    with open_run(
        run_dir=run_dir, space=space, evaluator=evaluator, objectives=objectives, constraints=constraints,
        population=population, generations=generations, evaluations=evaluations, seed=seed, data=data,
        evaluator_options=evaluator_options, search=search, pipeline=pipeline, jobs=jobs,
    ) as run:
        return run.run(progress=progress)
