"""A search run: ask -> evaluate -> tell -> checkpoint, one generation at a time, resumable exactly.

Randomness: generation ``g`` draws from `evonas.streams.generation_rng` and the evaluation of
uid ``u`` from `evonas.streams.evaluation_seed`, so a run's result depends on neither the number
of workers nor on where it was interrupted.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evonas.checkpoint import EvaluationRow, RestorePoint, RunStore, fingerprint_digest, is_run_dir
from evonas.errors import CheckpointError, ConfigError, SpaceExhaustedError
from evonas.evaluators import Candidate, Evaluation, Evaluator, make_evaluator
from evonas.genotype import Genotype, Individual
from evonas.objectives import Objective, metric_sources, parse_constraint, parse_objectives, total_violation
from evonas.parallel import Executor, InProcessExecutor
from evonas.plugins import check_plugins, plugin_records
from evonas.populations.manager import Pipeline, PopulationManager, SearchOptions
from evonas.populations.screening import ScreenOptions
from evonas.spaces import get_space
from evonas.streams import GENERATION_STREAM, evaluation_seed, generation_rng

DEFAULT_GENERATIONS = 20
DEFAULT_PARENT = Path("checkpoints")


def default_run_dir(space: str, evaluator: str, seed: int) -> Path:
    """Where a run goes when no run directory is given: ``checkpoints/<space>-<evaluator>-seed<seed>-<time>``
    (of a ``module:attr`` plug-in name, its attribute's last part)."""
    label = lambda name: name.rpartition(":")[2].rpartition(".")[2]  # noqa: E731
    return DEFAULT_PARENT / f"{label(space)}-{label(evaluator)}-seed{seed}-{time.strftime('%Y%m%d-%H%M%S')}"


@dataclass(frozen=True, kw_only=True)
class RunConfig:
    """Everything that defines a run; stored as ``run.json``.

    Attributes:
        space: registered search space name.
        evaluator: registered evaluator name.
        evaluator_options: keyword options of the evaluator (``table``, ``epochs``...).
        objectives: objective specs (``acc=cifar10_test_acc:max``).
        constraints: constraint specs (``latency<=5``).
        search: the population's size and the settings of the default pipeline (`SearchOptions`).
        screen: proxy screening of the offspring (None: every offspring is evaluated).
        generations: stop after this generation (generation 0 is the initial population).
        evaluations: stop after this many distinct architectures have been evaluated.
        seed: the run's seed.
    """

    space: str
    evaluator: str
    objectives: tuple[str, ...]
    evaluator_options: dict[str, Any] = field(default_factory=dict)
    constraints: tuple[str, ...] = ()
    search: SearchOptions = field(default_factory=SearchOptions)
    screen: ScreenOptions | None = None
    generations: int | None = None
    evaluations: int | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        objectives = parse_objectives(self.objectives)
        object.__setattr__(self, "objectives", tuple(o.spec for o in objectives))
        object.__setattr__(self, "constraints", tuple(parse_constraint(c).spec for c in self.constraints))
        if self.generations is None and self.evaluations is None:
            object.__setattr__(self, "generations", DEFAULT_GENERATIONS)
        if self.generations is not None and self.generations < 0:
            raise ConfigError(f"--generations must be at least 0, got {self.generations}")
        if self.evaluations is not None and self.evaluations < 1:
            raise ConfigError(f"--evaluations must be at least 1, got {self.evaluations}")
        if not 0 <= self.seed < 2**63:
            raise ConfigError(f"--seed must be a non-negative integer, got {self.seed}")

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["objectives"], data["constraints"] = list(self.objectives), list(self.constraints)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunConfig:
        names = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        values["objectives"] = tuple(values["objectives"])
        values["constraints"] = tuple(values.get("constraints", ()))
        # a run written before local search, the predictor (and its fit), equivalents, the gene model, neutral and swap
        # moves existed resumes as it ran: without them
        before = {"local_search": 0.0, "predictor_pool": 1.0, "predictor_fit": 0.0, "equivalents": False, "model_share": 0.0,
                  "neutral_moves": False, "swap_moves": False}
        values["search"] = SearchOptions(**{**before, **values.get("search", {})})
        values["screen"] = ScreenOptions(**values["screen"]) if values.get("screen") else None
        # how a run executes is no longer part of it: the train evaluator's own jobs and backend are dropped
        values["evaluator_options"] = {k: v for k, v in values.get("evaluator_options", {}).items() if k not in ("jobs", "backend")}
        return cls(**values)


@dataclass(frozen=True)
class GenerationReport:
    """What a finished generation hands to callbacks."""

    generation: int
    evaluated: int
    new: tuple[Individual, ...]
    front: tuple[Individual, ...]
    evaluator_seconds: float


Callback = Callable[["Search", GenerationReport], None]


@dataclass
class _Generation:
    """A generation asked and not yet wholly told: its candidates in the order asked, the individuals told so far."""

    generation: int
    candidates: list[Candidate]
    exhausted: bool
    seconds_before: float
    told: dict[int, Individual] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_uid = {c.uid: c for c in self.candidates}


class Search:
    """One run of the population manager against an evaluator, checkpointed in a `RunStore`.

    Build it with `Search.start` (new run directory) or `Search.resume` (existing one), then `run`.
    Each generation's candidates are evaluated through ``executor`` (`evonas.parallel`; in this
    process by default), which is how the run executes, not what it computes: a run may resume on
    another one.

    What the run proposes and keeps is a `Pipeline` of pieces (`evonas.populations.pipeline`):
    by default today's, built from ``config.search`` and ``config.screen``; a ``pipeline`` of your
    own replaces it. Its pieces are code, not configuration: run.json records where they come
    from (``"pipeline"``), and `resume` wants a pipeline of the same pieces.
    """

    def __init__(
        self, config: RunConfig, store: RunStore, evaluator: Evaluator, executor: Executor | None = None,
        pipeline: Pipeline | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.executor = executor or InProcessExecutor()
        self.space = get_space(config.space)
        self.objectives: tuple[Objective, ...] = parse_objectives(config.objectives)
        self.constraints = tuple(parse_constraint(c) for c in config.constraints)
        self.manager = PopulationManager(
            self.space, self.objectives, self.constraints, config.search, pipeline or self.default_pipeline(config)
        )
        self.evaluator = evaluator
        self.generation = -1
        self.next_uid = 0
        self.exhausted = False
        self.evaluator_seconds = 0.0
        self._replay: dict[tuple[int, str], EvaluationRow] = {}
        self._pending: _Generation | None = None
        self.last_report: GenerationReport | None = None
        self._fingerprint = fingerprint_digest(store.read_config())

    # -- construction ----------------------------------------------------------------------
    @staticmethod
    def default_pipeline(config: RunConfig) -> Pipeline:
        """Today's pipeline with the run's settings (``evonas evolve`` builds it from its options)."""
        screen = None
        if config.screen is not None:
            from evonas.populations.screening import ProxyScreen

            screen = ProxyScreen(get_space(config.space), config.screen, config.seed)
        return Pipeline.default(config.search, screen)

    @staticmethod
    def _check_pipeline(config: RunConfig, pipeline: Pipeline | None) -> None:
        if pipeline is not None and config.screen is not None:
            raise ConfigError("a pipeline of its own brings its own screen: the run's screen settings would go unused")

    @staticmethod
    def _run_json(config: RunConfig, pipeline: Pipeline | None) -> dict[str, Any]:
        """What run.json holds: the configuration, the pieces of a pipeline of one's own, the genes of a space
        defined in code (`SearchSpace.definition`) and the plug-ins the configuration names (`evonas.plugins`)."""
        definition = get_space(config.space).definition()
        document = {
            **config.to_json(),
            **({"pipeline": pipeline.describe()} if pipeline is not None else {}),
            **({"space_definition": definition} if definition is not None else {}),
        }
        plugins = plugin_records(document)
        return {**document, "plugins": plugins} if plugins else document

    @staticmethod
    def evaluator_for(config: RunConfig, state_dir: Path) -> Evaluator:
        """The evaluator ``config`` asks for, keeping its state in ``state_dir``."""
        objectives = parse_objectives(config.objectives)
        constraints = [parse_constraint(c) for c in config.constraints]
        return make_evaluator(
            config.evaluator,
            space=get_space(config.space),
            sources=metric_sources(objectives, constraints),
            state_dir=state_dir,
            options=config.evaluator_options,
            seed=config.seed,
            constraints=constraints,
        )

    @classmethod
    def start(
        cls, config: RunConfig, run_dir: Path, *, warn: Callable[[str], None] | None = None, executor: Executor | None = None,
        pipeline: Pipeline | None = None,
    ) -> Search:
        """A new run in ``run_dir``, locked; the evaluator is checked before anything is written.

        A directory that already holds a run of exactly this configuration (one stopped before its
        first generation ended, say) is continued as `resume` would continue it.
        """
        cls._check_pipeline(config, pipeline)
        run_dir = Path(run_dir).absolute()
        if is_run_dir(run_dir) and RunStore(run_dir).holds(cls._run_json(config, pipeline)):
            if warn:
                warn(f"{run_dir} already holds this run; continuing it")
            return cls.resume(run_dir, warn=warn, executor=executor, pipeline=pipeline)
        evaluator = cls.evaluator_for(config, run_dir / "evaluator")
        if config.screen is not None:
            from evonas.measure.meter import network_options

            network_options(get_space(config.space), config.screen.widths, {})
        names = list(metric_sources(parse_objectives(config.objectives), [parse_constraint(c) for c in config.constraints]))
        store = RunStore.create(run_dir, cls._run_json(config, pipeline), names, evaluator.inputs())
        return cls(config, store, evaluator, executor, pipeline)

    @classmethod
    def resume(
        cls,
        run_dir: Path,
        *,
        generations: int | None = None,
        evaluations: int | None = None,
        warn: Callable[[str], None] | None = None,
        executor: Executor | None = None,
        pipeline: Pipeline | None = None,
    ) -> Search:
        """Continues the run in ``run_dir`` from its newest intact generation, locked.

        ``generations``/``evaluations`` replace the run's budget (to extend a finished run); a budget
        below the work done is refused and ``run.json`` left as it was. A `CheckpointError` also if
        another process has the run open, or if ``run.json`` or the evaluator's inputs (the table, the
        data) changed since the run started.
        """
        store = RunStore.open(run_dir)
        store.lock()
        try:
            return cls._resume(store, generations, evaluations, warn, executor, pipeline)
        except BaseException:
            store.close()
            raise

    @classmethod
    def _resume(
        cls, store: RunStore, generations: int | None, evaluations: int | None, warn: Callable[[str], None] | None,
        executor: Executor | None, pipeline: Pipeline | None,
    ) -> Search:
        raw = store.read_config()
        store.check_config(raw)
        check_plugins(raw.get("plugins"), warn)
        try:
            config = RunConfig.from_json(raw)
        except (KeyError, TypeError) as error:
            raise CheckpointError(f"{store.path / 'run.json'} is not a valid run configuration: {error}") from None
        cls._check_pipeline(config, pipeline)
        ran_with = raw.get("pipeline")
        given = pipeline.describe() if pipeline is not None else None
        if ran_with != given:
            raise CheckpointError(
                f"{store.path} was run with the pipeline {ran_with or 'of its options'} and is resumed with "
                f"{given or 'the pipeline of its options'}: resume it with the same pieces (Search.resume(run_dir, pipeline=...))"
            )
        if raw.get("space_definition") != get_space(config.space).definition():
            raise CheckpointError(
                f"{store.path} was run with another definition of the space {config.space!r} than the one registered now: "
                "reopen it with the space it was run with"
            )
        evaluator = cls.evaluator_for(config, store.evaluator_dir)
        store.check_inputs(raw, evaluator.inputs())
        point = store.restore_point(warn)
        recorded = point.state.get("fingerprint") if point.state else None
        if recorded is not None and recorded != fingerprint_digest(raw):
            raise CheckpointError(f"{store.path / 'run.json'} does not carry the fingerprint its generations were written with")
        if generations is not None or evaluations is not None:
            done_generation = point.state["generation"] if point.state else -1
            if evaluations is not None and evaluations < len(point.committed):
                raise CheckpointError(
                    f"--evaluations {evaluations} is below the {len(point.committed)} evaluations {store.path} holds; "
                    "a run cannot be shortened (run.json is unchanged)"
                )
            if generations is not None and generations < done_generation:
                raise CheckpointError(
                    f"--generations {generations} is below the generation {done_generation} {store.path} has finished; "
                    "a run cannot be shortened (run.json is unchanged)"
                )
            config = dataclasses.replace(config, generations=generations, evaluations=evaluations)
        search = cls(config, store, evaluator, executor, pipeline)
        search._restore(point)
        if generations is not None or evaluations is not None:
            store.update_config({"generations": config.generations, "evaluations": config.evaluations})
        return search

    def _restore(self, point: RestorePoint) -> None:
        state = point.state
        if state is not None:
            self.generation = state["generation"]
            self.next_uid = state["next_uid"]
            self.exhausted = state["exhausted"]
            self.evaluator_seconds = float(state["evaluator_seconds"])
        self.store.discard_generations_after(self.generation)
        # in the order the candidates were asked (their uids), as an uninterrupted run merged them, whatever order they were told in
        archive = sorted((self._individual(row) for row in point.committed), key=lambda ind: ind.uid)
        population = state["population"] if state else []
        unknown = set(population) - {ind.uid for ind in archive}
        if unknown:
            raise CheckpointError(f"generation {self.generation} lists uids that evaluations.csv lacks: {sorted(unknown)[:5]}")
        self.manager.restore(archive, population)
        self.evaluator.survived(self.generation, self.manager.population, self.next_uid)
        self._replay = {(row.uid, row.arch): row for row in point.tail}
        self.store.truncate_evaluations(point.size)
        self._write_front()

    def close(self) -> None:
        """Releases the run directory's lock (ending the process releases it too)."""
        self.store.close()

    def __enter__(self) -> Search:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _individual(self, row: EvaluationRow) -> Individual:
        return Individual(
            uid=row.uid,
            genotype=self.space.decode(row.arch),
            arch=row.arch,
            metrics=row.metrics,
            generation=row.generation,
            parents=row.parents,
            operator=row.operator,
            status=row.status,
            seconds=row.seconds,
        )

    # -- running ---------------------------------------------------------------------------
    @property
    def evaluated(self) -> int:
        return len(self.manager.archive)

    @property
    def finished(self) -> bool:
        """Whether the budget is spent (never while a generation is asked and not wholly told)."""
        if self._pending is not None:
            return False
        if self.exhausted:
            return True
        if self.config.evaluations is not None and self.evaluated >= self.config.evaluations:
            return True
        return self.config.generations is not None and self.generation >= self.config.generations

    @property
    def budget(self) -> int:
        """Evaluations the run will make in all (its evaluation budget, or population x generations)."""
        by_generations = (
            self.config.search.population * (self.config.generations + 1) if self.config.generations is not None else math.inf
        )
        return int(min(self.config.evaluations or math.inf, by_generations, self.space.size))

    def run(
        self,
        callbacks: Sequence[Callback] = (),
        *,
        on_evaluation: Callable[[Individual], None] | None = None,
        progress: bool = False,
    ) -> list[Individual]:
        """Runs generations until the budget is spent; returns the front of the archive.

        ``callbacks`` hear about each finished generation, ``on_evaluation`` about each evaluation;
        ``progress`` shows the evaluator's own preparation (supernet training) as a progress bar.
        """
        if not self.finished:
            self.evaluator.prepare(progress=progress)
        while not self.finished:
            report = self.step(on_evaluation=on_evaluation)
            for callback in callbacks:
                callback(self, report)
        return self.front()

    def step(self, *, on_evaluation: Callable[[Individual], None] | None = None) -> GenerationReport:
        """Runs one generation and checkpoints it: `ask`, the candidates evaluated through the executor, `tell`."""
        if self.finished:
            raise ConfigError(f"{self.store.path} is finished: its budget is spent")
        if self.evaluator.external:
            raise ConfigError(
                f"{self.store.path} has no evaluator: its caller evaluates the candidates (evonas.open_run, run.ask(), run.tell(...))"
            )
        seconds_before, generation = self.evaluator_seconds, self.generation
        candidates = self.ask()
        # the candidates told from the rows an interrupted run wrote (all of them if ask closed the generation)
        replayed = self._pending.told.values() if self._pending is not None else self.last_report.new
        for individual in replayed if on_evaluation else ():
            on_evaluation(individual)
        results = self.executor.evaluate(self.evaluator, candidates)
        for candidate in candidates:
            started = time.perf_counter()
            evaluation = next(results)
            waited = time.perf_counter() - started
            individual = self.tell(candidate, evaluation, seconds=waited)
            if on_evaluation:
                on_evaluation(individual)
        assert self.last_report is not None and self.last_report.generation == generation + 1
        return dataclasses.replace(self.last_report, evaluator_seconds=self.evaluator_seconds - seconds_before)

    def ask(self) -> list[Candidate]:
        """The candidates of the next generation still to be evaluated; [] when the run is finished.

        They follow from the last checkpoint alone, so a run reopened after a crash asks the same
        candidates again. Asking again before all are told gives the untold ones again. Candidates
        that an interrupted run already evaluated (rows after its last checkpoint) are told from
        those rows, not asked; a generation with nothing left to evaluate is checkpointed at once
        (then [] is returned while the run is not finished: ask again).
        """
        if self._pending is None:
            if self.finished:
                return []
            self._pending = self._open_generation()
            for candidate in list(self._pending.candidates):
                row = self._replay.pop((candidate.uid, candidate.arch), None)
                if row is not None:
                    self._record(candidate, Evaluation(row.metrics, row.status, row.seconds))
            if len(self._pending.told) == len(self._pending.candidates):
                self._close_generation()
                return []
        return [c for c in self._pending.candidates if c.uid not in self._pending.told]

    def tell(self, candidate: Candidate, evaluation: Evaluation, *, seconds: float | None = None) -> Individual:
        """Records the evaluation of an asked candidate (in ``evaluations.csv`` at once); when the last candidate of
        the generation is told, the generation is merged into the population and checkpointed.

        ``seconds`` is the evaluator time to count for it (by default the evaluation's own ``seconds``).
        Candidates may be told in any order; the population is updated in the order they were asked.
        """
        pending = self._pending
        if pending is None or candidate.uid not in pending.by_uid or pending.by_uid[candidate.uid].arch != candidate.arch:
            raise ConfigError(f"candidate {candidate.uid} ({candidate.arch}) was not asked in this generation of {self.store.path}")
        if candidate.uid in pending.told:
            raise ConfigError(f"candidate {candidate.uid} ({candidate.arch}) was told already")
        self.evaluator_seconds += evaluation.seconds if seconds is None else seconds
        individual = self._record(pending.by_uid[candidate.uid], evaluation)
        if len(pending.told) == len(pending.candidates):
            self._close_generation()
        return individual

    def _open_generation(self) -> _Generation:
        generation = self.generation + 1
        n = self.config.search.population
        if self.config.evaluations is not None:
            n = min(n, self.config.evaluations - self.evaluated)
        seeds = self._seeds() if generation == 0 else ()
        try:
            offspring = self.manager.ask(n, generation_rng(self.config.seed, generation), seeds)
        except SpaceExhaustedError:
            offspring = []
        candidates = [
            Candidate(
                self.next_uid + i,
                child.genotype,
                self.space.encode(child.genotype),
                evaluation_seed(self.config.seed, self.next_uid + i),
                generation=generation,
                parents=child.parents,
                operator=child.operator,
            )
            for i, child in enumerate(offspring)
        ]
        return _Generation(generation, candidates, exhausted=len(offspring) < n, seconds_before=self.evaluator_seconds)

    def _record(self, candidate: Candidate, evaluation: Evaluation) -> Individual:
        individual = Individual(
            uid=candidate.uid,
            genotype=candidate.genotype,
            arch=candidate.arch,
            metrics=dict(evaluation.metrics),
            generation=candidate.generation,
            parents=candidate.parents,
            operator=candidate.operator,
            status=evaluation.status,
            seconds=evaluation.seconds,
        )
        self.store.append_evaluations([self._row(individual)])
        self._pending.told[candidate.uid] = individual
        return individual

    def _close_generation(self) -> None:
        pending, self._pending = self._pending, None
        new = [pending.told[c.uid] for c in pending.candidates]
        self.manager.tell(new)
        self.generation = pending.generation
        self.next_uid += len(pending.candidates)
        self.exhausted = pending.exhausted
        self._checkpoint()
        self.evaluator.survived(self.generation, self.manager.population, self.next_uid)
        self.last_report = GenerationReport(
            self.generation, self.evaluated, tuple(new), tuple(self.front()), self.evaluator_seconds - pending.seconds_before
        )

    def _seeds(self) -> list[Genotype]:
        """The evaluator's proposals for generation 0, asked once and kept in the run directory (so a
        resumed run seeds generation 0 as the interrupted one did)."""
        archs = self.store.read_seeds()
        if archs is None:
            archs = [self.space.encode(genotype) for genotype in self.evaluator.seeds()]
            self.store.write_seeds(archs)
        return [self.space.decode(arch) for arch in archs]

    @staticmethod
    def _row(ind: Individual) -> EvaluationRow:
        return EvaluationRow(ind.generation, ind.uid, ind.arch, ind.parents, ind.operator, ind.status, ind.metrics, ind.seconds)

    def _checkpoint(self) -> None:
        size, sha256 = self.store.sync_evaluations()
        self.store.write_generation(
            self.generation,
            {
                "next_uid": self.next_uid,
                "evaluated": self.evaluated,
                "exhausted": self.exhausted,
                "evaluator_seconds": self.evaluator_seconds,
                "evaluations_csv": {"bytes": size, "sha256": sha256},
                "rng": {"seed": self.config.seed, "next_generation_spawn_key": [GENERATION_STREAM, self.generation + 1]},
                "population": [ind.uid for ind in self.manager.population],
                "population_records": [ind.to_json() for ind in self.manager.population],
                **({"fingerprint": self._fingerprint} if self._fingerprint else {}),
            },
        )
        self._write_front()

    # -- results ---------------------------------------------------------------------------
    def front(self) -> list[Individual]:
        """The archive's feasible non-dominated individuals, best first by the first objective."""
        signs = [o.sign for o in self.objectives]
        key = lambda ind: (*(s * ind.metrics[o.name] for s, o in zip(signs, self.objectives)), ind.arch)  # noqa: E731
        return sorted(self.manager.front(), key=key)

    def closest_to_feasible(self) -> tuple[Individual, float] | None:
        """The measured archive member with the least total constraint violation, with that violation (what a
        run whose constraints nothing met reports); None if no evaluation succeeded."""
        measured = [ind for ind in self.manager.archive.values() if ind.ok]
        if not measured:
            return None
        closest = min(measured, key=lambda ind: (total_violation(ind.metrics, self.constraints), ind.uid))
        return closest, total_violation(closest.metrics, self.constraints)

    def _write_front(self) -> None:
        names = [o.name for o in self.objectives]
        self.store.write_front(names, [(ind.arch, [ind.metrics[n] for n in names]) for ind in self.front()])
