"""benchmarks/search_quality.py: its metrics, and that every method evaluates distinct architectures up to the budget."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path

import pytest

from evonas.errors import TableError
from tests.tables import write_macro_table

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "search_quality.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("search_quality", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def problem(bench, tmp_path_factory):
    table = write_macro_table(tmp_path_factory.mktemp("tables") / "macro.csv")
    return bench.load_problem(table, "acc=top1,params", None)


def test_the_space_is_detected_and_the_values_are_minimised(problem):
    assert problem.space == "macro" and problem.values.shape == (6561, 2)
    assert (problem.values[:, 0] < 0).all() and (problem.values[:, 1] > 0).all()  # accuracy negated, params kept


def test_recall_and_hypervolume_ratio(bench, problem):
    front = bench.TrueFront.of(problem)
    members = sorted(front.members)
    assert front.scores(problem.values, list(range(len(problem.archs)))) == (1.0, pytest.approx(1.0), 1.0)
    recall, ratio, functions = front.scores(problem.values, members[:1])
    assert recall == functions == 1 / len(members) and 0 < ratio < 1
    # a dominated point adds nothing to the hypervolume
    dominated = next(i for i in range(len(problem.archs)) if i not in front.members)
    assert front.scores(problem.values, members + [dominated])[1] == pytest.approx(1.0)


def test_recall_of_functions_counts_a_member_found_through_an_equivalent(bench, problem):
    front = bench.TrueFront.of(problem)
    member = min(front.members)
    twin = next(i for i in range(len(problem.archs)) if i not in front.members)
    functions = problem.functions.copy()
    functions[twin] = functions[member]  # declare the dominated row equivalent to the member
    merged = bench.TrueFront.of(dataclasses.replace(problem, functions=functions))
    recall, _, found = merged.scores(problem.values, [twin])
    assert recall == 0 and found == 1 / len(merged.members)
    assert front.scores(problem.values, [twin])[2] == 0  # without the equivalence it is not found


@pytest.mark.parametrize("method", ["random", "pymoo", "deap", "optuna", "tpe", "evonas"])
def test_every_method_evaluates_distinct_architectures_up_to_the_budget(bench, problem, method):
    runner = bench.evonas_runner({}) if method == "evonas" else getattr(bench, f"run_{method}")
    order = runner(problem, 120, 0)
    assert len(order) == len(set(order)) == 120
    assert order == runner(problem, 120, 0)  # seeded


def test_evonas_reaches_a_higher_hypervolume_than_random_search(bench, problem):
    front = bench.TrueFront.of(problem)
    ratios = {
        name: [front.scores(problem.values, runner(problem, 300, seed))[1] for seed in range(3)]
        for name, runner in [("evonas", bench.evonas_runner({})), ("random", bench.run_random)]
    }
    assert min(ratios["evonas"]) > max(ratios["random"])


def test_a_table_that_lacks_part_of_its_space_is_refused_with_its_counts(bench, tmp_path):
    full = write_macro_table(tmp_path / "full.csv").read_text().splitlines()
    partial = tmp_path / "partial.csv"
    partial.write_text("\n".join(full[:101]) + "\n")
    with pytest.raises(TableError, match="holds 100 of the 6561 architectures"):
        bench.load_problem(partial, "acc=top1,params", None)
