from __future__ import annotations

import csv

import numpy as np
import pytest

from evonas.errors import CheckpointError
from evonas.history import RunHistory, axis_label, hypervolume
from evonas.objectives import parse_objective
from evonas.search import RunConfig, Search
from tests.tables import finished_run


def brute_force_front(points):
    """Indices of rows of a minimisation array that no other row dominates."""
    return [
        i for i, p in enumerate(points)
        if not any(np.all(q <= p) and np.any(q < p) for j, q in enumerate(points) if j != i)
    ]


def test_front_after_each_generation_is_the_nondominated_set_of_everything_evaluated_so_far(synthetic_table, tmp_path):
    history = finished_run(synthetic_table, tmp_path / "run")
    assert history.generations == 6 and len(history.rows) == 60
    for generation in range(history.generations):
        so_far = np.flatnonzero(history.row_generations <= generation)
        expected = so_far[brute_force_front(history.minimised[so_far])]
        assert history.front_indices(generation).tolist() == expected.tolist()
    with open(tmp_path / "run" / "front.csv") as handle:
        front_csv = {row["arch"] for row in csv.DictReader(handle)}
    assert {history.rows[i].arch for i in history.front_indices()} == front_csv


def test_constraints_keep_infeasible_rows_off_the_front(synthetic_table, tmp_path):
    history = finished_run(synthetic_table, tmp_path / "run", constraints=("params<=3000",))
    front = history.front_indices()
    assert len(front) and all(history.rows[i].metrics["params"] <= 3000 for i in front)
    assert not history.feasible.all()


def test_hypervolume_curve_grows_and_ends_at_the_final_fronts_value(synthetic_table, tmp_path):
    history = finished_run(synthetic_table, tmp_path / "run")
    generations, evaluations, volumes = history.hypervolume_curve()
    assert generations.tolist() == list(range(6)) and evaluations.tolist() == [10, 20, 30, 40, 50, 60]
    assert np.all(np.diff(volumes) >= -1e-12)
    final = history.minimised[history.front_indices()]
    assert volumes[-1] == pytest.approx(hypervolume(final, final.min(axis=0), final.max(axis=0)))


def test_hypervolume_of_known_points():
    ideal, nadir = np.array([0.0, 0.0]), np.array([1.0, 1.0])
    assert hypervolume(np.array([[0.0, 0.0]]), ideal, nadir) == pytest.approx(1.1 * 1.1)
    # two corners: 1.1 x 0.1 + 0.1 x 1.1 - 0.1 x 0.1
    assert hypervolume(np.array([[0.0, 1.0], [1.0, 0.0]]), ideal, nadir) == pytest.approx(0.21)
    assert hypervolume(np.zeros((0, 2)), ideal, nadir) == 0.0


def test_axis_labels_say_unit_and_direction():
    assert axis_label(parse_objective("latency")) == "latency (ms, lower is better)"
    assert axis_label(parse_objective("acc=cifar10_test_acc")) == "acc (higher is better)"
    assert axis_label(parse_objective("size=params:min")) == "size (parameters, lower is better)"


def test_a_folder_that_is_not_a_run_or_has_no_generation_is_an_error(synthetic_table, tmp_path):
    with pytest.raises(CheckpointError, match="not an evonas run directory"):
        RunHistory.load(tmp_path)
    config = RunConfig(space="macro", evaluator="table", evaluator_options={"table": str(synthetic_table)}, objectives=("acc=top1", "params"))
    Search.start(config, tmp_path / "new")
    with pytest.raises(CheckpointError, match="no complete generation"):
        RunHistory.load(tmp_path / "new")
