"""The public Python API (`evonas.api`): spaces in code, function and subclass evaluators, evolve, ask/tell, resume."""

from __future__ import annotations

import csv
import functools
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import evonas
from evonas.checkpoint import fingerprint
from evonas.errors import ArchitectureError, CheckpointError, ConfigError
from evonas.evaluators.base import Evaluation, Evaluator
from evonas.objectives import parse_constraint, parse_objectives

ROOT = Path(__file__).resolve().parents[1]
GENES = {"depth": [1, 2, 3, 4], "width": [8, 16, 32, 64], "act": ["relu", "gelu"]}
OBJECTIVES = ["acc", "params"]


def toy_space(name: str) -> evonas.Space:
    return evonas.Space(name=name, genes=GENES)


@pytest.fixture(autouse=True, scope="module")
def registries_as_they_were():
    """The spaces and evaluators these tests register are gone afterwards (other modules list the registries)."""
    from evonas.evaluators import EVALUATORS
    from evonas.spaces import SPACES, get_space

    saved = [(registry, dict(registry._entries)) for registry in (SPACES, EVALUATORS)]
    yield
    for registry, entries in saved:
        registry._entries = entries
    get_space.cache_clear()
    arguments_space.cache_clear()


@functools.cache
def arguments_space() -> evonas.Space:
    return toy_space("api-arguments")


def toy_score(genotype, context) -> dict[str, float]:
    """A made-up accuracy with noise from the candidate's own stream, and a parameter count."""
    c = context.chosen
    acc = 50 + 10 * c["depth"] + c["width"] / 8 - (3 if c["act"] == "gelu" else 0) + context.rng.normal()
    return {"acc": acc, "params": c["depth"] * c["width"] ** 2}


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def without_seconds(path: Path) -> list[dict[str, str]]:
    return sorted(({k: v for k, v in row.items() if k != "seconds"} for row in rows(path)), key=lambda r: int(r["uid"]))


def pareto(points: dict[str, tuple[float, float]]) -> set[str]:
    """Archs whose (acc max, params min) no other point dominates."""
    def dominates(a, b):
        return a[0] >= b[0] and a[1] <= b[1] and a != b

    return {arch for arch, p in points.items() if not any(dominates(q, p) for q in points.values())}


def drive(run: evonas.Run, *, stop_after: int | None = None, reverse: bool = False) -> int:
    """Evaluates ``run``'s candidates with `toy_score` through ask/tell; stops after ``stop_after`` tells."""
    told = 0
    while not run.finished:
        candidates = run.ask()
        for candidate in reversed(candidates) if reverse else candidates:
            if stop_after is not None and told == stop_after:
                return told
            run.tell(candidate, toy_score(candidate.genotype, run.context(candidate)))
            told += 1
    return told


# -- the space -------------------------------------------------------------------------------------


def test_space_encodes_choices_by_gene_and_works_with_the_operators():
    from evonas.operators import CROSSOVERS, MUTATIONS
    from evonas.spaces import get_space

    space = toy_space("api-space")
    assert get_space("api-space") is space and space.size == 32
    genotype = space.make([2, 1, 1])
    assert space.encode(genotype) == "depth=3|width=16|act=gelu" == str(genotype)
    assert space.decode("depth=3|width=16|act=gelu") == genotype
    assert space.chosen(genotype) == {"depth": 3, "width": 16, "act": "gelu"}
    assert [g.ordinal for g in space.genes] == [True, True, False]
    rng = np.random.default_rng(0)
    for _ in range(20):
        child = MUTATIONS["resample"](space.sample(rng), space, rng=rng)
        assert space.decode(space.encode(child)) == child
        for offspring in CROSSOVERS["uniform"](child, space.sample(rng), space, rng=rng):
            space.validate(offspring)
    with pytest.raises(ArchitectureError, match="width has no choice '12'"):
        space.decode("depth=3|width=12|act=gelu")
    with pytest.raises(ArchitectureError, match="expected depth=1\\|width=8\\|act=relu"):
        space.decode("width=16|depth=3|act=gelu")


def test_space_builds_networks_with_its_function_deterministically():
    torch = pytest.importorskip("torch")

    def build(chosen, *, num_classes, in_channels, image_size):
        layers = [torch.nn.Conv2d(in_channels, chosen["width"], 3, padding=1)]
        return torch.nn.Sequential(*layers, torch.nn.Flatten(), torch.nn.Linear(chosen["width"] * image_size**2, num_classes))

    space = evonas.Space(name="api-build", genes=GENES, build=build)
    genotype = space.make([0, 1, 0])
    first, again = (space.build(genotype, num_classes=3, in_channels=1, image_size=4) for _ in range(2))
    assert first(torch.ones(2, 1, 4, 4)).shape == (2, 3)
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), again.state_dict().values()))
    with pytest.raises(ConfigError, match="has no build function"):
        bare = toy_space("api-no-build")
        bare.build(bare.make([0, 1, 0]), num_classes=3, in_channels=1, image_size=4)


# -- evolve ----------------------------------------------------------------------------------------


def test_evolve_with_a_function_finds_the_true_front_and_writes_a_run_directory(tmp_path):
    space = toy_space("api-evolve")
    result = evonas.evolve(space=space, evaluator=toy_score, objectives=OBJECTIVES, population=8, evaluations=32,
                           seed=3, run_dir=tmp_path / "run")
    assert result.run_dir == (tmp_path / "run").absolute() and result.evaluated == 32
    evaluated = rows(tmp_path / "run" / "evaluations.csv")
    assert len({r["arch"] for r in evaluated}) == 32  # the whole space, each once
    points = {r["arch"]: (float(r["acc"]), float(r["params"])) for r in evaluated}
    assert {ind.arch for ind in result.front} == pareto(points)
    front_csv = rows(tmp_path / "run" / "front.csv")
    assert [(r["arch"], float(r["acc"]), float(r["params"])) for r in front_csv] == [
        (row["arch"], row["acc"], row["params"]) for row in result.to_rows()
    ]
    config = json.loads((tmp_path / "run" / "run.json").read_text())
    assert config["evaluator"] == "function"
    assert config["evaluator_options"]["function"] == "tests.test_api:toy_score"
    assert config["space_definition"] == {"genes": [[gene, choices] for gene, choices in GENES.items()]}
    # the same call again returns the finished run's result
    again = evonas.evolve(space=space, evaluator=toy_score, objectives=OBJECTIVES, population=8, evaluations=32,
                          seed=3, run_dir=tmp_path / "run")
    assert again.to_rows() == result.to_rows()


def test_the_context_carries_the_candidates_own_seed_and_the_data(tmp_path):
    x = np.random.default_rng(0).normal(size=(40, 4, 4)).astype(np.float32)
    np.savez(tmp_path / "data.npz", x=x, y=np.arange(40) % 2)
    seen = {}

    def record(genotype, context):
        seen[context.uid] = (context.seed, context.arch, tuple(context.data.x_train.shape[1:]), len(context.data.y_val))
        assert context.state_dir.parent.parent == tmp_path and context.state_dir.name == "evaluator"
        assert context.space.name == "api-context"
        return {"acc": context.uid, "params": 1.0}

    space = toy_space("api-context")
    evonas.evolve(space=space, evaluator=record, objectives=OBJECTIVES, population=4, generations=1,
                  run_dir=tmp_path / "run", data=tmp_path / "data.npz")
    first = dict(seen)
    seen.clear()
    evonas.evolve(space=space, evaluator=record, objectives=OBJECTIVES, population=4, generations=1,
                  run_dir=tmp_path / "again", data=tmp_path / "data.npz", seed=0)
    assert set(first) == set(range(8)) and len({s for s, *_ in first.values()}) == 8
    assert [v[2:] for v in first.values()] == [((1, 4, 4), 6)] * 8  # 40 images: 8 test, 26 train, 6 validation
    assert list(seen.values()) == list(first.values())  # seeds follow the run's seed and the uid
    fingerprint = json.loads((tmp_path / "run" / "run.json").read_text())["fingerprint"]["inputs"]
    assert fingerprint["data"]["path"] == str(tmp_path / "data.npz")


class OffsetEvaluator(Evaluator):
    """A subclass evaluator with an option of its own."""

    name = "api-offset"
    description = "made-up metrics plus an offset"

    def __init__(self, *, space, sources, state_dir=None, seed=0, offset: float = 0.0):
        super().__init__(space=space, sources=sources, state_dir=state_dir, seed=seed)
        self.offset = offset

    def evaluate_one(self, candidate):
        chosen = self.space.chosen(candidate.genotype)
        return Evaluation({"acc": chosen["depth"] + self.offset, "params": float(chosen["width"])})


def test_evolve_with_a_subclass_evaluator_and_its_options(tmp_path):
    result = evonas.evolve(space=toy_space("api-subclass"), evaluator=OffsetEvaluator, evaluator_options={"offset": 100.0},
                           objectives=OBJECTIVES, population=8, evaluations=32, run_dir=tmp_path / "run")
    assert {(row["acc"], row["params"]) for row in result.to_rows()} == {(104.0, 8.0)}
    config = json.loads((tmp_path / "run" / "run.json").read_text())
    assert (config["evaluator"], config["evaluator_options"]) == ("api-offset", {"offset": 100.0})
    with pytest.raises(ConfigError, match="does not take --scale"):
        evonas.evolve(space="api-subclass", evaluator=OffsetEvaluator, evaluator_options={"scale": 2},
                      objectives=OBJECTIVES, generations=1, run_dir=tmp_path / "bad")


def test_constraints_are_honoured(tmp_path):
    constraint = parse_constraint("params<=1000")
    result = evonas.evolve(space=toy_space("api-constrained"), evaluator=toy_score, objectives=parse_objectives("acc,params"),
                           constraints=[constraint, "acc>=60"], population=8, evaluations=32, run_dir=tmp_path / "run")
    points = {r["arch"]: (float(r["acc"]), float(r["params"])) for r in rows(tmp_path / "run" / "evaluations.csv")}
    feasible = {arch: p for arch, p in points.items() if p[1] <= 1000 and p[0] >= 60}
    assert len(feasible) < len(points) and {ind.arch for ind in result.front} == pareto(feasible)
    assert json.loads((tmp_path / "run" / "run.json").read_text())["constraints"] == ["params<=1000.0", "acc>=60.0"]


def test_a_builtin_space_and_evaluator_by_name(tmp_path, synthetic_table):
    result = evonas.evolve(space="macro", evaluator="table", evaluator_options={"table": str(synthetic_table)},
                           objectives="acc=top1,params", population=10, generations=2, seed=2, run_dir=tmp_path / "run")
    assert result.evaluated == 30 and result.front
    with open(synthetic_table) as handle:
        table = {row["arch"]: float(row["top1"]) for row in csv.DictReader(handle)}
    assert all(ind.metrics["acc"] == table[ind.arch] for ind in result.front)


# -- ask / tell ------------------------------------------------------------------------------------


def test_ask_tell_gives_the_front_evolve_gives(tmp_path):
    space = toy_space("api-asktell")
    settings = dict(space=space, objectives=OBJECTIVES, population=6, evaluations=20, seed=5)
    evolved = evonas.evolve(evaluator=toy_score, run_dir=tmp_path / "evolved", **settings)
    with evonas.open_run(run_dir=tmp_path / "asked", **settings) as run:
        assert drive(run, reverse=True) == 20  # told in another order than asked
        assert run.result().to_rows() == evolved.to_rows() and run.ask() == []
    assert (tmp_path / "asked" / "front.csv").read_bytes() == (tmp_path / "evolved" / "front.csv").read_bytes()
    assert without_seconds(tmp_path / "asked" / "evaluations.csv") == without_seconds(tmp_path / "evolved" / "evaluations.csv")


def test_ask_tell_resumes_exactly_after_abandoning_a_generation(tmp_path):
    space = toy_space("api-resume")
    settings = dict(space=space, objectives=OBJECTIVES, population=6, evaluations=24, seed=1)
    with evonas.open_run(run_dir=tmp_path / "whole", **settings) as run:
        drive(run)
    with evonas.open_run(run_dir=tmp_path / "cut", **settings) as run:
        drive(run, stop_after=9)  # generation 0 and half of generation 1 told
        untold = run.ask()
        assert run.generation == 0 and len(untold) == 3
    with evonas.open_run(run_dir=tmp_path / "cut", **settings) as run:  # the same call continues it
        assert run.generation == 0 and run.ask() == untold
        drive(run)
    assert (tmp_path / "cut" / "front.csv").read_bytes() == (tmp_path / "whole" / "front.csv").read_bytes()
    assert without_seconds(tmp_path / "cut" / "evaluations.csv") == without_seconds(tmp_path / "whole" / "evaluations.csv")


def test_ask_tell_resumes_exactly_after_kill_9(tmp_path):
    script = tmp_path / "driver.py"
    script.write_text(textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(ROOT)!r})
        import evonas
        from tests.test_api import GENES, toy_score

        space = evonas.Space(name="api-killed", genes=GENES)
        run = evonas.open_run(run_dir=sys.argv[1], space=space, objectives=["acc", "params"], population=6,
                              evaluations=24, seed=4)
        told = 0
        while not run.finished:
            for candidate in run.ask():
                if told == int(sys.argv[2]):
                    os.kill(os.getpid(), signal.SIGKILL)
                run.tell(candidate, toy_score(candidate.genotype, run.context(candidate)))
                told += 1
        print(run.generation)
    """))
    killed = subprocess.run([sys.executable, str(script), str(tmp_path / "run"), "8"], capture_output=True, text=True)
    assert killed.returncode == -9 and (tmp_path / "run" / "generations").is_dir()
    completed = subprocess.run([sys.executable, str(script), str(tmp_path / "run"), "1000"], capture_output=True, text=True)
    assert completed.returncode == 0 and completed.stdout == "3\n", completed.stderr
    with evonas.open_run(run_dir=tmp_path / "whole", space=toy_space("api-killed"), objectives=OBJECTIVES, population=6,
                         evaluations=24, seed=4) as run:
        drive(run)
    assert (tmp_path / "run" / "front.csv").read_bytes() == (tmp_path / "whole" / "front.csv").read_bytes()
    assert without_seconds(tmp_path / "run" / "evaluations.csv") == without_seconds(tmp_path / "whole" / "evaluations.csv")


def tied_score(genotype, context) -> dict[str, float]:
    """Coarse metrics with many ties, where the search's choices depend on the order of its archive."""
    g = genotype.genes
    return {"acc": float((7 * sum(g[:3]) + g[3] * g[4]) % 11), "params": float(sum(g[2:]) // 2)}


def test_results_told_in_any_order_and_reopened_every_generation_end_as_an_uninterrupted_run(tmp_path):
    space = evonas.Space(name="api-any-order", genes={f"g{i}": [0, 1, 2, 3] for i in range(6)})
    settings = dict(space=space, objectives=OBJECTIVES, population=6, evaluations=90, seed=3)

    def tell_reversed(run):
        for candidate in reversed(run.ask()):
            run.tell(candidate, tied_score(candidate.genotype, run.context(candidate)))

    with evonas.open_run(run_dir=tmp_path / "whole", **settings) as run:
        while not run.finished:
            tell_reversed(run)
    while True:
        with evonas.open_run(run_dir=tmp_path / "reopened", **settings) as run:
            if run.finished:
                break
            tell_reversed(run)
    assert (tmp_path / "reopened" / "front.csv").read_bytes() == (tmp_path / "whole" / "front.csv").read_bytes()
    assert without_seconds(tmp_path / "reopened" / "evaluations.csv") == without_seconds(tmp_path / "whole" / "evaluations.csv")


def test_an_ask_tell_run_reopens_by_its_run_dir_in_a_process_that_never_started_one(tmp_path):
    from evonas.evaluators import EVALUATORS

    space = toy_space("api-fresh")
    with evonas.open_run(run_dir=tmp_path / "run", space=space, objectives=OBJECTIVES, population=4, generations=1) as run:
        asked = run.ask()
    del EVALUATORS._entries["external"]  # as in a new process
    with evonas.open_run(run_dir=tmp_path / "run", space=space) as run:
        assert run.ask() == asked


def test_a_partial_is_an_evaluation_function_with_its_bound_arguments(tmp_path):
    def shifted(genotype, context, *, by):
        metrics = toy_score(genotype, context)
        return {**metrics, "acc": metrics["acc"] + by}

    settings = dict(space=toy_space("api-partial"), objectives=OBJECTIVES, population=4, generations=1, seed=3)
    plain = evonas.evolve(evaluator=toy_score, run_dir=tmp_path / "plain", **settings)
    partial = evonas.evolve(evaluator=functools.partial(shifted, by=1.5), run_dir=tmp_path / "partial", **settings)
    assert [r["arch"] for r in rows(partial.run_dir / "evaluations.csv")] == [r["arch"] for r in rows(plain.run_dir / "evaluations.csv")]
    assert [float(r["acc"]) for r in rows(partial.run_dir / "evaluations.csv")] == pytest.approx(
        [float(r["acc"]) + 1.5 for r in rows(plain.run_dir / "evaluations.csv")])
    reference = json.loads((partial.run_dir / "run.json").read_text())["evaluator_options"]["function"]
    assert reference.endswith("shifted(partial)")  # never imported by name: the bound arguments live in this process


def test_reopening_by_run_dir_alone_and_failures(tmp_path):
    space = toy_space("api-reopen")
    with evonas.open_run(run_dir=tmp_path / "run", space=space, objectives=OBJECTIVES, population=4, generations=1) as run:
        first = run.ask()
        run.tell(first[0], failure="out of memory\non the cluster")
        run.tell(first[1], {"acc": float("nan"), "params": 3})
        with pytest.raises(ConfigError, match="was told already"):
            run.tell(first[0], {"acc": 1, "params": 1})
        with pytest.raises(ConfigError, match="gave no 'params'"):
            run.tell(first[2], {"acc": 1})
        with pytest.raises(ConfigError, match="either its metrics or failure"):
            run.tell(first[2])
    with evonas.open_run(run_dir=tmp_path / "run") as run:
        assert [c.uid for c in run.ask()] == [2, 3]
        with pytest.raises(ConfigError, match="has no evaluator"):
            run.run()
    statuses = [r["status"] for r in rows(tmp_path / "run" / "evaluations.csv")]
    assert statuses == ["failed: out of memory on the cluster", "failed: acc not finite"]


def test_a_function_evaluates_on_worker_processes_by_value(tmp_path):
    """A function defined in a script's __main__ reaches loky workers (cloudpickle) and gives what one process gives."""
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(f"""
        import os, sys
        sys.path.insert(0, {str(ROOT)!r})
        import evonas

        def score(genotype, context):
            c = context.chosen
            return {{"acc": c["depth"] * 10 + context.rng.normal(), "params": c["width"], "pid": os.getpid()}}

        space = evonas.Space(name="scripted", genes={{"depth": [1, 2, 3], "width": [4, 8, 16]}})
        result = evonas.evolve(space=space, evaluator=score, objectives=["acc", "params"], population=4, evaluations=9,
                               run_dir=sys.argv[1], jobs=int(sys.argv[2]))
        print(result.to_rows())
    """))
    outputs = [
        subprocess.run([sys.executable, str(script), str(tmp_path / f"jobs{jobs}"), str(jobs)], capture_output=True, text=True)
        for jobs in (1, 2)
    ]
    assert all(o.returncode == 0 for o in outputs), [o.stderr[-2000:] for o in outputs]
    assert outputs[0].stdout == outputs[1].stdout and "depth=3" in outputs[0].stdout
    assert without_seconds(tmp_path / "jobs1" / "evaluations.csv") == without_seconds(tmp_path / "jobs2" / "evaluations.csv")


# -- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: evonas.Space(name="api-bad", genes={}), "needs genes"),
        (lambda: evonas.Space(name="api-bad", genes={"a": []}), "gene 'a' has no choices"),
        (lambda: evonas.Space(name="api-bad", genes={"a": [1, 1]}), "lists a choice twice"),
        (lambda: evonas.Space(name="api-bad", genes={"a": ["x|y"]}), "without '\\|' or '='"),
        (lambda: evonas.Space(name="api-bad", genes={"a": 3}), "needs a list of choices"),
        (lambda: evonas.Space(name="api-bad", genes={"a=b": [1]}), "gene name 'a=b'"),
        (lambda: evonas.Space(name="nb201", genes={"a": [1, 2]}), "space name 'nb201' is taken"),
        (lambda: evonas.Space(name=" ", genes={"a": [1, 2]}), "needs a name"),
    ],
)
def test_bad_spaces_are_one_line_config_errors(make, message):
    with pytest.raises(ConfigError, match=message) as error:
        make()
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"space": "nowhere"}, "unknown space 'nowhere'; known: "),
        ({"space": 3}, "space must be an evonas.Space or a registered space's name, got 3"),
        ({"evaluator": "nowhere"}, "unknown evaluator 'nowhere'; known: "),
        ({"evaluator": 42}, "evaluator must be a function f\\(genotype, context\\) -> dict"),
        ({"evaluator": None}, "evolve needs an evaluator"),
        ({"objectives": ["acc", "colour"]}, "objective 'colour' has no default direction"),
        ({"objectives": [3]}, "objectives are strings"),
        ({"constraints": ["params<<3"]}, "ill-formed constraint 'params<<3'"),
        ({"population": 1}, "population must be at least 2, got 1"),
        ({"population": 0}, "population must be at least 2, got 0"),
        ({"population": 4, "search": "fast"}, "not both"),
        ({"jobs": 0}, "jobs must be a positive integer, got 0"),
        ({"evaluations": 0}, "--evaluations must be at least 1, got 0"),
    ],
)
def test_bad_arguments_are_one_line_config_errors(tmp_path, arguments, message):
    settings = {"space": arguments_space(), "evaluator": toy_score, "objectives": OBJECTIVES, "generations": 1,
                "run_dir": tmp_path / "run", **arguments}
    with pytest.raises(ConfigError, match=message) as error:
        evonas.evolve(**settings)
    assert "\n" not in str(error.value)
    assert not (tmp_path / "run").exists()


def test_an_evaluator_instance_and_another_space_definition_are_refused(tmp_path):
    space = toy_space("api-instance")
    instance = OffsetEvaluator(space=space, sources={"acc": "acc"})
    with pytest.raises(ConfigError, match="pass the evaluator's class \\(OffsetEvaluator\\), not an instance"):
        evonas.evolve(space=space, evaluator=instance, objectives=OBJECTIVES, generations=1, run_dir=tmp_path / "a")
    with pytest.raises(ConfigError, match="was not asked"):
        with evonas.open_run(space=space, objectives=OBJECTIVES, population=4, generations=1, run_dir=tmp_path / "b") as run:
            candidate = run.ask()[0]
            run.tell(type(candidate)(99, candidate.genotype, candidate.arch, candidate.seed), {"acc": 1, "params": 1})
    # the same name defined otherwise in another process: run.json's genes tell them apart
    original = json.loads((tmp_path / "b" / "run.json").read_text())
    assert original["space_definition"]["genes"][0] == ["depth", [1, 2, 3, 4]]
    other_choices = json.loads(json.dumps(original))
    other_choices["space_definition"]["genes"][0][1] = [1, 2, 3, 5]
    other_order = json.loads(json.dumps(original))
    other_order["space_definition"]["genes"].reverse()  # the same genes in another order: other architectures
    for config in (other_choices, other_order):
        config["fingerprint"] = fingerprint(config, {})
        (tmp_path / "b" / "run.json").write_text(json.dumps(config))
        with pytest.raises(CheckpointError, match="another definition of the space 'api-instance'"):
            evonas.open_run(run_dir=tmp_path / "b", space=space)


# -- the package -----------------------------------------------------------------------------------


def test_import_evonas_is_light_and_every_public_name_resolves():
    code = (
        "import sys, evonas\n"
        "assert 'torch' not in sys.modules and 'evonas.api' not in sys.modules, sorted(sys.modules)\n"
        "names = [n for n in evonas.__all__ if n != '__version__']\n"
        "assert all(getattr(evonas, n).__name__ == n for n in names)\n"
        "assert 'torch' not in sys.modules, 'resolving the public names imported torch'\n"
        "print(len(names))\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert completed.returncode == 0, completed.stderr
    assert int(completed.stdout) >= 10
    assert {"evolve", "open_run", "Space", "Run", "Result", "EvaluationContext", "FunctionEvaluator", "Evaluator"} <= set(evonas.__all__)
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        evonas.nothing  # noqa: B018


def test_candidates_are_deterministic_across_processes_of_the_same_seed(tmp_path):
    """ask() depends on the checkpoint only: two fresh runs of one seed ask the same first generation."""
    space = toy_space("api-determinism")
    asked = []
    for name in ("one", "two"):
        with evonas.open_run(run_dir=tmp_path / name, space=space, objectives=OBJECTIVES, population=5, generations=0, seed=9) as run:
            asked.append([(c.uid, c.arch, c.operator) for c in run.ask()])
    assert asked[0] == asked[1] and len(asked[0]) == 5 and {operator for *_, operator in asked[0]} == {"sample"}
