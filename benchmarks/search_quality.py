"""Search quality against a table's true Pareto front: evonas beside random search, pymoo, DEAP and Optuna.

Every method searches the same table for the same objectives with the same seeds; each run is
recorded as the sequence of distinct architectures it evaluated, and after each budget (the first N
distinct architectures) three figures are taken against the table's true front:

- front recall: the share of the table's Pareto-optimal architectures the search evaluated;
- front recall of functions: the share of them whose function the search evaluated, i.e. some
  architecture with the same canonical form (`SearchSpace.canonical`: on NB201, the cell with the
  edges that compute nothing set to none); the published tables trained such equivalents apart, so
  their entries differ by training noise;
- HV ratio: hypervolume of every evaluated point over that of the true front, objectives
  normalised by the true front's ideal and nadir points, reference point 1.1 on each axis
  (pymoo's ``HV``).

Peers (each asked until it has evaluated the largest budget of distinct architectures; a repeated
architecture is looked up again for free and not counted):

- ``random``: random search without replacement;
- ``pymoo``: ``NSGA2`` in pymoo's documented integer set-up (integer random sampling, SBX and
  polynomial mutation with rounding repair, duplicate elimination), population 50;
- ``deap``: the loop of DEAP's NSGA-II example (``selTournamentDCD`` parents, ``selNSGA2``
  survival, crossover probability 0.9) with integer genes (``cxUniform``, ``mutUniformInt``),
  population 52 (DCD tournaments take a multiple of four);
- ``optuna``: Optuna's ``NSGAIISampler`` on one categorical parameter per gene, population 50;
- ``tpe``: Optuna's ``TPESampler(multivariate=True)`` (multi-objective, its defaults otherwise) on
  the same parameters;
- ``gp``: Optuna's ``GPSampler`` (log expected hypervolume improvement) on the same parameters; not
  run by default: on this 2-core machine it took 17.6 s per trial at trials 11-20 of NB201 x FPGA.

``evonas`` is `evonas.search.Search` with the table evaluator and its default settings; ``--evonas
NAME=JSON`` adds a variant with other population-manager settings (`SearchOptions` fields) or with
proxy screening (``{"screen": {"proxy": "synflow"}}``, `ScreenOptions` fields).

    python benchmarks/search_quality.py --table ../shared/data/nb201/nb201.csv \\
        --objectives acc=cifar10_test_acc,latency=latency_fpga_ms --budgets 300,1000 --seeds 10

With ``--cache DIR`` each peer run's evaluations are kept in DIR and not recomputed (evonas runs
always are). Without ``--table`` it runs the suite on ../shared/data (NB201 accuracy against each latency column,
NAS-Bench-Macro accuracy against params, flops and both) and, with ``--results FILE``, rewrites the
suite's section of that file (benchmarks/RESULTS.md).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from evonas.checkpoint import atomic_write
from evonas.errors import EvonasError, TableError
from evonas.evaluators.table import read_table
from evonas.history import hypervolume
from evonas.objectives import minimisation_matrix, parse_objectives
from evonas.populations.manager import SearchOptions
from evonas.populations.screening import ScreenOptions
from evonas.search import RunConfig, Search
from evonas.spaces import SPACES, get_space
from evonas.spaces.base import SearchSpace

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
SUITE = [
    ("nb201/nb201.csv", "acc=cifar10_test_acc,latency=latency_fpga_ms"),
    ("nb201/nb201.csv", "acc=cifar10_test_acc,latency=latency_raspi4_ms"),
    ("nb201/nb201.csv", "acc=cifar10_test_acc,latency=latency_gold_6226_ms"),
    ("nb201/nb201.csv", "acc=cifar10_test_acc,latency=latency_1080ti_1_ms"),
    ("nas-bench-macro/nas-bench-macro.csv", "acc=cifar10_test_acc,params"),
    ("nas-bench-macro/nas-bench-macro.csv", "acc=cifar10_test_acc,flops"),
    ("nas-bench-macro/nas-bench-macro.csv", "acc=cifar10_test_acc,params,flops"),
]
PEERS = ("random", "pymoo", "deap", "optuna", "tpe", "gp")
ASKS_PER_EVALUATION = 50  # a peer that proposes this many architectures per distinct one it finds has stalled


@dataclass(frozen=True)
class Problem:
    """A table seen as a search problem: every architecture's objective values, to minimise."""

    table: Path
    objectives: str
    space: str
    archs: tuple[str, ...]
    genes: np.ndarray  # (n_archs, n_genes) choice indices
    values: np.ndarray  # (n_archs, n_objectives), minimised
    functions: np.ndarray  # (n_archs,) the index of each architecture's canonical form (`SearchSpace.canonical`)


def load_problem(table: Path, objectives: str, space_name: str | None) -> Problem:
    """Reads ``table`` for ``objectives``; the space is the one whose strings the ``arch`` column holds."""
    parsed = parse_objectives(objectives)
    space = get_space(space_name) if space_name else detect_space(table)
    rows = read_table(table, space, [o.source for o in parsed])
    if len(rows) < space.size:
        raise TableError(f"{table} holds {len(rows)} of the {space.size} architectures of space {space.name}: "
                         "the searches would ask for the missing ones; search quality needs a table of the whole space")
    archs = tuple(rows)
    genotypes = [space.decode(a) for a in archs]
    genes = np.array([g.genes for g in genotypes], dtype=np.int64)
    values = minimisation_matrix([dict(zip([o.name for o in parsed], rows[a])) for a in archs], parsed)
    functions = np.array([space.index(space.canonical(g)) for g in genotypes], dtype=np.int64)
    return Problem(table, objectives, space.name, archs, genes, values, functions)


def detect_space(table: Path) -> SearchSpace:
    """The registered space that decodes the first architecture of ``table``."""
    with open(table, encoding="utf-8") as handle:
        header = handle.readline().strip().split(",")
        first = dict(zip(header, handle.readline().strip().split(",")))
    for name in SPACES:
        space = get_space(name)
        try:
            space.decode(first.get("arch", ""))
        except EvonasError:
            continue
        return space
    raise TableError(f"no registered space ({', '.join(SPACES)}) reads arch {first.get('arch')!r} of {table}; pass --space")


class Lookup:
    """Objective values by gene tuple, recording each distinct architecture in the order first asked."""

    def __init__(self, problem: Problem) -> None:
        self.values = problem.values
        self.row = {tuple(g): i for i, g in enumerate(problem.genes.tolist())}
        self.order: list[int] = []
        self._seen: set[int] = set()

    def __call__(self, genes) -> np.ndarray:
        row = self.row[tuple(int(g) for g in genes)]
        if row not in self._seen:
            self._seen.add(row)
            self.order.append(row)
        return self.values[row]

    @property
    def distinct(self) -> int:
        return len(self.order)


def run_random(problem: Problem, budget: int, seed: int) -> list[int]:
    return np.random.default_rng(seed).permutation(len(problem.archs))[:budget].tolist()


def run_pymoo(problem: Problem, budget: int, seed: int) -> list[int]:
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.problem import Problem as PymooProblem
    from pymoo.operators.crossover.sbx import SBX
    from pymoo.operators.mutation.pm import PM
    from pymoo.operators.repair.rounding import RoundingRepair
    from pymoo.operators.sampling.rnd import IntegerRandomSampling

    lookup = Lookup(problem)
    upper = problem.genes.max(axis=0)
    pymoo_problem = PymooProblem(n_var=len(upper), n_obj=problem.values.shape[1], xl=0, xu=upper, vtype=int)
    algorithm = NSGA2(
        pop_size=50,
        sampling=IntegerRandomSampling(),
        crossover=SBX(prob=1.0, eta=3.0, vtype=float, repair=RoundingRepair()),
        mutation=PM(prob=1.0, eta=3.0, vtype=float, repair=RoundingRepair()),
        eliminate_duplicates=True,
    )
    algorithm.setup(pymoo_problem, seed=seed, termination=("n_eval", ASKS_PER_EVALUATION * budget))
    return _ask_tell(lookup, budget, lambda: algorithm.ask(), lambda pop: pop.get("X"),
                     lambda pop, F: (pop.set("F", F), algorithm.tell(infills=pop)))


def _ask_tell(lookup: Lookup, budget: int, ask, genes_of, tell) -> list[int]:
    """Drives an ask/tell optimiser until ``budget`` distinct architectures (or a cap on all asks)."""
    calls = 0
    while lookup.distinct < budget and calls < ASKS_PER_EVALUATION * budget:
        batch = ask()
        genes = np.asarray(genes_of(batch)).round().astype(int)
        calls += len(genes)
        tell(batch, np.array([lookup(g) for g in genes]))
    return lookup.order[:budget]


def run_deap(problem: Problem, budget: int, seed: int) -> list[int]:
    from deap import base, creator, tools

    random.seed(seed)  # DEAP's kernels draw from Python's global random
    lookup = Lookup(problem)
    upper = problem.genes.max(axis=0).tolist()
    n_obj = problem.values.shape[1]
    if not hasattr(creator, f"FitnessMin{n_obj}"):
        creator.create(f"FitnessMin{n_obj}", base.Fitness, weights=(-1.0,) * n_obj)
        creator.create(f"Individual{n_obj}", list, fitness=getattr(creator, f"FitnessMin{n_obj}"))
    individual = getattr(creator, f"Individual{n_obj}")
    mu, indpb = 52, 1.0 / len(upper)

    def evaluate(population) -> None:
        for ind in population:
            if not ind.fitness.valid:
                ind.fitness.values = tuple(lookup(ind))

    population = [individual(random.randint(0, u) for u in upper) for _ in range(mu)]
    evaluate(population)
    population = tools.selNSGA2(population, mu)  # assigns crowding distances for selTournamentDCD
    calls = mu
    while lookup.distinct < budget and calls < ASKS_PER_EVALUATION * budget:
        offspring = [individual(ind) for ind in tools.selTournamentDCD(population, len(population))]
        for first, second in zip(offspring[::2], offspring[1::2]):
            if random.random() <= 0.9:
                tools.cxUniform(first, second, 0.5)
            tools.mutUniformInt(first, low=0, up=upper, indpb=indpb)
            tools.mutUniformInt(second, low=0, up=upper, indpb=indpb)
            del first.fitness.values, second.fitness.values
        evaluate(offspring)
        calls += len(offspring)
        population = tools.selNSGA2(population + offspring, mu)
    return lookup.order[:budget]


def run_optuna(problem: Problem, budget: int, seed: int) -> list[int]:
    import optuna

    return _optuna_loop(problem, budget, optuna.samplers.NSGAIISampler(population_size=50, seed=seed))


def run_tpe(problem: Problem, budget: int, seed: int) -> list[int]:
    import optuna

    return _optuna_loop(problem, budget, optuna.samplers.TPESampler(multivariate=True, seed=seed))


def run_gp(problem: Problem, budget: int, seed: int) -> list[int]:
    import optuna

    return _optuna_loop(problem, budget, optuna.samplers.GPSampler(seed=seed))


def _optuna_loop(problem: Problem, budget: int, sampler) -> list[int]:
    """Asks an Optuna sampler for one categorical parameter per gene until ``budget`` distinct architectures."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    lookup = Lookup(problem)
    upper = problem.genes.max(axis=0).tolist()
    study = optuna.create_study(directions=["minimize"] * problem.values.shape[1], sampler=sampler)
    calls = 0
    while lookup.distinct < budget and calls < ASKS_PER_EVALUATION * budget:
        trial = study.ask()
        genes = [trial.suggest_categorical(f"g{i}", list(range(u + 1))) for i, u in enumerate(upper)]
        study.tell(trial, lookup(genes).tolist())
        calls += 1
    return lookup.order[:budget]


def evonas_runner(options: dict) -> Callable[[Problem, int, int], list[int]]:
    """evonas on the table: ``options`` are `SearchOptions` fields, plus ``screen`` (`ScreenOptions` fields)."""
    options = dict(options)
    screen = ScreenOptions(**options.pop("screen")) if "screen" in options else None

    def run_evonas(problem: Problem, budget: int, seed: int) -> list[int]:
        config = RunConfig(
            space=problem.space, evaluator="table", evaluator_options={"table": str(problem.table)},
            objectives=tuple(o.spec for o in parse_objectives(problem.objectives)),
            evaluations=budget, seed=seed, search=SearchOptions(**options), screen=screen,
        )
        with tempfile.TemporaryDirectory() as scratch:
            search = Search.start(config, Path(scratch) / "run")
            search.run()
            archive = sorted(search.manager.archive.values(), key=lambda ind: ind.uid)
        row = {arch: i for i, arch in enumerate(problem.archs)}
        return [row[ind.arch] for ind in archive][:budget]

    return run_evonas


@dataclass(frozen=True)
class TrueFront:
    """A table's Pareto-optimal rows, the ideal and nadir points that normalise objectives, and its hypervolume."""

    members: frozenset[int]
    functions: np.ndarray  # canonical form of every row
    ideal: np.ndarray
    nadir: np.ndarray
    hypervolume: float

    @classmethod
    def of(cls, problem: Problem) -> TrueFront:
        values = problem.values
        on_front = NonDominatedSorting().do(values, only_non_dominated_front=True)
        ideal, nadir = values[on_front].min(axis=0), values[on_front].max(axis=0)
        return cls(frozenset(int(i) for i in on_front), problem.functions, ideal, nadir,
                   hypervolume(values[on_front], ideal, nadir))

    def scores(self, values: np.ndarray, evaluated: list[int]) -> tuple[float, float, float]:
        """(front recall, HV ratio, front recall of functions) of the evaluated rows.

        The recall of functions counts a front member as found when any architecture of its
        canonical form (`SearchSpace.canonical`) was evaluated.
        """
        recall = len(self.members.intersection(evaluated)) / len(self.members)
        found = set(self.functions[evaluated].tolist())
        functions = sum(int(self.functions[m]) in found for m in self.members) / len(self.members)
        return recall, hypervolume(values[evaluated], self.ideal, self.nadir) / self.hypervolume, functions


def one_run(method: str, runner, problem: Problem, budgets: list[int], seed: int, front: TrueFront, cache: Path | None):
    """Scores of one run; a peer's run is read from (or written to) ``cache``, a directory, when given.

    A peer's run to a larger budget serves a smaller one: its first N distinct evaluations are those
    of a run to N, since no peer is told its budget. The seconds are those of the run read.
    """
    stored = record = None
    if cache is not None and method in PEERS:
        name = f"{method}-{problem.table.stem}-{problem.objectives.replace('=', '-').replace(',', '_')}-seed{seed}"
        stored = cache / f"{name}-n{max(budgets)}.json"
        larger = sorted((int(p.stem.rpartition("-n")[2]), p) for p in cache.glob(f"{name}-n*.json"))
        record = next((json.loads(p.read_text(encoding="utf-8")) for n, p in larger if n >= max(budgets)), None)
    if record is not None:
        order, seconds = record["order"][: max(budgets)], record["seconds"]
    else:
        started = time.perf_counter()
        order = runner(problem, max(budgets), seed)
        seconds = time.perf_counter() - started
        if stored is not None:
            stored.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(stored, json.dumps({"order": [int(i) for i in order], "seconds": seconds}))
    return method, seed, [front.scores(problem.values, order[:b]) for b in budgets], seconds, len(order)


def evaluate_problem(problem: Problem, methods: dict, budgets: list[int], seeds: list[int], jobs: int, cache: Path | None) -> dict:
    front = TrueFront.of(problem)
    print(f"\n{problem.table.name} {problem.objectives} ({problem.space}, {len(problem.archs)} architectures, "
          f"{len(front.members)} Pareto-optimal)", flush=True)
    runs = Parallel(n_jobs=jobs)(
        delayed(one_run)(name, runner, problem, budgets, seed, front, cache) for name, runner in methods.items() for seed in seeds
    )
    summary = {}
    for name in methods:
        mine = [r for r in runs if r[0] == name]
        short = [r for r in mine if r[4] < max(budgets)]
        summary[name] = {
            "hv": [statistics.median(r[2][k][1] for r in mine) for k in range(len(budgets))],
            "recall": [statistics.median(r[2][k][0] for r in mine) for k in range(len(budgets))],
            "functions": [statistics.median(r[2][k][2] for r in mine) for k in range(len(budgets))],
            "seconds": statistics.median(r[3] for r in mine),
            "short": len(short),
        }
        cells = "  ".join(f"{summary[name]['hv'][k]:.3f}/{summary[name]['recall'][k]:.2f}/{summary[name]['functions'][k]:.2f}"
                          for k in range(len(budgets)))
        note = f"  ({len(short)} runs stalled before the budget)" if short else ""
        print(f"  {name:<16} {cells}   {summary[name]['seconds']:.2f} s/run{note}", flush=True)
    return {"front": len(front.members), "front_functions": len({int(front.functions[m]) for m in front.members}),
            "methods": summary}


def markers(section: str) -> tuple[str, str]:
    return f"<!-- {section}:begin -->", f"<!-- {section}:end -->"


def markdown(results: list[tuple[Problem, dict]], budgets: list[int], seeds: list[int], command: str, section: str) -> str:
    begin, end = markers(section)
    lines = [begin, "", f"`{command}`", "",
             f"Medians over seeds {seeds[0]}-{seeds[-1]}: HV ratio / front recall / front recall of functions after "
             "each budget of distinct evaluations; seconds per run of the largest budget. True front: its members "
             "(and the distinct functions among them).", ""]
    header = "| table x objectives | true front | method | " + " | ".join(f"{b} evaluations" for b in budgets) + " | s/run |"
    lines += [header, "|" + " --- |" * (4 + len(budgets))]
    for problem, result in results:
        setting = f"{problem.table.parent.name}/{problem.table.name} {problem.objectives}"
        for name, s in result["methods"].items():
            cells = " | ".join(f"{s['hv'][k]:.3f} / {s['recall'][k]:.2f} / {s['functions'][k]:.2f}" for k in range(len(budgets)))
            bold = "**" if name == "evonas" else ""
            front = f"{result['front']} ({result['front_functions']})"
            lines.append(f"| {setting} | {front} | {bold}{name}{bold} | {cells} | {s['seconds']:.2f} |")
            setting = ""
    return "\n".join(lines + ["", end])


def write_section(path: Path, text: str, section: str) -> None:
    """Replaces ``section`` of ``path`` (between its markers), or appends it."""
    old = path.read_text(encoding="utf-8") if path.exists() else ""
    begin, end = markers(section)
    if begin in old and end in old:
        new = old[: old.index(begin)] + text + old[old.index(end) + len(end):]
    else:
        new = old.rstrip("\n") + "\n\n" + text + "\n"
    path.write_text(new, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", type=Path, help="A CSV with an arch column (default: the suite on ../shared/data).")
    parser.add_argument("--objectives", help="Objective specs for --table, e.g. acc=cifar10_test_acc,latency=latency_fpga_ms.")
    parser.add_argument("--space", help="The table's space (default: detected from its arch strings).")
    parser.add_argument("--budgets", default="100,300,1000")
    parser.add_argument("--seeds", default="10", help="N for seeds 0..N-1, or FIRST-LAST.")
    parser.add_argument("--methods", default="evonas," + ",".join(p for p in PEERS if p != "gp"))
    parser.add_argument("--evonas", action="append", default=[], metavar="NAME=JSON",
                        help='An evonas variant, e.g. nsga2=\'{"local_search": 0, "predictor_pool": 1}\' or '
                             'screened=\'{"screen": {"proxy": "synflow"}}\' (repeatable).')
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--cache", type=Path, help="A directory keeping each peer run's evaluations: runs found there are not re-run.")
    parser.add_argument("--section", default="search_quality", help="Name of the section of --results written.")
    parser.add_argument("--results", type=Path, help="Write the markdown table into this file's search-quality section.")
    args = parser.parse_args()

    budgets = sorted(int(b) for b in args.budgets.split(","))
    first, _, last = args.seeds.partition("-")
    seeds = list(range(int(first), int(last) + 1)) if last else list(range(int(first)))
    runners = {"random": run_random, "pymoo": run_pymoo, "deap": run_deap, "optuna": run_optuna, "tpe": run_tpe, "gp": run_gp,
               "evonas": evonas_runner({})}
    methods = {}
    for name in args.methods.split(","):
        if name not in runners:
            parser.error(f"unknown method {name!r}; known: {', '.join(runners)}")
        methods[name] = runners[name]
    for variant in args.evonas:
        name, _, options = variant.partition("=")
        methods[f"evonas-{name}"] = evonas_runner(json.loads(options))

    if args.table:
        if not args.objectives:
            parser.error("--table needs --objectives")
        settings = [(args.table, args.objectives)]
    else:
        if not DATA.is_dir():
            parser.error(f"no --table given and the suite's tables are absent ({DATA.resolve()})")
        settings = [(DATA / table, objectives) for table, objectives in SUITE]

    print(f"HV ratio / front recall at budgets {budgets}, medians of {len(seeds)} seeds")
    results = []
    for table, objectives in settings:
        try:
            problem = load_problem(table, objectives, args.space)
        except EvonasError as error:
            print(f"search_quality.py: {error}", file=sys.stderr)
            sys.exit(2)
        results.append((problem, evaluate_problem(problem, methods, budgets, seeds, args.jobs, args.cache)))
    if args.results:
        command = "python benchmarks/search_quality.py " + " ".join(sys.argv[1:])
        write_section(args.results, markdown(results, budgets, seeds, command, args.section), args.section)
        print(f"\nwrote {args.results}")


if __name__ == "__main__":
    main()
