from __future__ import annotations

import numpy as np
import pytest

from evonas.errors import ConfigError
from evonas.plotting import FINAL_COLOUR, compare_figure, fronts_figure, hypervolume_figure, plot_run, save_figure
from tests.tables import finished_run


def artist(figure, gid):
    found = [a for axes in figure.axes for a in (*axes.lines, *axes.collections) if a.get_gid() == gid]
    assert found, f"no artist {gid}"
    return found


def line_points(line):
    return np.column_stack(line.get_data())


def as_set(points):
    return {tuple(p) for p in np.asarray(points).round(9)}


def test_fronts_figure_draws_each_generations_front_and_joins_the_final_one(synthetic_table, tmp_path):
    history = finished_run(synthetic_table, tmp_path / "run")
    figure = fronts_figure(history)
    axes = figure.axes[0]
    assert axes.get_xlabel() == "acc (higher is better)"
    assert axes.get_ylabel() == "params (parameters, lower is better)"
    for generation in range(history.generations):
        (line,) = artist(figure, f"generation-{generation}")
        assert as_set(line_points(line)) == as_set(history.values[history.front_indices(generation)])
    (final,) = artist(figure, "final-front")
    points = line_points(final)
    assert as_set(points) == as_set(history.values[history.front_indices()])
    assert np.all(np.diff(points[:, 0]) <= 0)  # joined in order along acc (maximised: best first)
    assert final.get_color() == FINAL_COLOUR
    (evaluated,) = artist(figure, "evaluated")
    assert len(evaluated.get_offsets()) == len(history.rows)
    assert any(a.get_label() == "<colorbar>" and a.get_ylabel() == "generation" for a in figure.axes)  # the colour bar


def test_three_objectives_give_a_scatter_matrix(synthetic_table, tmp_path):
    history = finished_run(synthetic_table, tmp_path / "run", objectives=("acc=top1", "params", "energy=energy_mj:min"))
    figure = fronts_figure(history)
    panels = [a for a in figure.axes if a.get_label() != "<colorbar>"]
    assert len(panels) == 9
    finals = artist(figure, "final-front")
    assert len(finals) == 6  # every ordered pair of distinct objectives
    labels = {(a.get_xlabel(), a.get_ylabel()) for a in panels if a.get_xlabel()}
    assert ("params", "energy") in labels and ("energy", "acc") in labels
    diagonal_text = [t.get_text() for a in panels for t in a.texts]
    assert "energy (lower is better)" in diagonal_text


def test_hypervolume_figure_plots_the_curve_by_generation_and_by_evaluation(synthetic_table, tmp_path):
    history = finished_run(synthetic_table, tmp_path / "run")
    generations, evaluations, volumes = history.hypervolume_curve()
    figure = hypervolume_figure(history)
    (by_generation,) = artist(figure, "by-generation")
    (by_evaluation,) = artist(figure, "by-evaluation")
    assert np.array_equal(line_points(by_generation), np.column_stack([generations, volumes]))
    assert np.array_equal(line_points(by_evaluation), np.column_stack([evaluations, volumes]))
    assert figure.axes[1].get_xlabel() == "architectures evaluated"


def test_compare_overlays_final_fronts_with_a_legend(synthetic_table, tmp_path):
    first = finished_run(synthetic_table, tmp_path / "one")
    second = finished_run(synthetic_table, tmp_path / "two", generations=1)
    figure = compare_figure([first, second])
    for number, history in enumerate((first, second)):
        (line,) = artist(figure, f"run-{number}")
        assert as_set(line_points(line)) == as_set(history.values[history.front_indices()])
    legend = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert legend[0].startswith("one (") and legend[1].startswith("two (")
    other = finished_run(synthetic_table, tmp_path / "three", objectives=("acc=top1", "energy=energy_mj:min"))
    with pytest.raises(ConfigError, match="cannot compare"):
        compare_figure([first, other])


@pytest.mark.parametrize("suffix,magic", [(".png", b"\x89PNG"), (".pdf", b"%PDF"), (".svg", b"<?xml")])
def test_figures_are_written_in_the_format_of_the_suffix(synthetic_table, tmp_path, suffix, magic):
    finished_run(synthetic_table, tmp_path / "run", generations=1)
    front, volume = plot_run(tmp_path / "run", tmp_path / f"out/fig{suffix}")
    assert front.read_bytes().startswith(magic) and volume.name == f"fig-hypervolume{suffix}"
    assert volume.read_bytes().startswith(magic)
    with pytest.raises(ConfigError, match="use .png, .pdf, .svg"):
        save_figure(None, tmp_path / "fig.jpg")


def test_one_objective_is_plotted_over_the_generations_with_the_best_so_far(synthetic_table, tmp_path):
    history = finished_run(synthetic_table, tmp_path / "run", objectives=("acc=top1",), generations=3)
    acc = history.values[:, 0]
    best = [acc[history.row_generations <= g].max() for g in range(history.generations)]
    figure = fronts_figure(history)
    (final,) = artist(figure, "final-front")
    assert np.array_equal(line_points(final), np.column_stack([np.arange(history.generations), best]))
    (evaluated,) = artist(figure, "evaluated")
    assert as_set(evaluated.get_offsets()) == as_set(np.column_stack([history.row_generations, acc]))
    assert figure.axes[0].get_ylabel() == "acc (higher is better)" and figure.axes[0].get_xlabel() == "generation"
    curve = hypervolume_figure(history)
    (by_evaluation,) = artist(curve, "by-evaluation")
    assert np.array_equal(line_points(by_evaluation)[:, 1], best)
    assert curve.axes[0].get_ylabel() == "best acc (higher is better)"
    other = finished_run(synthetic_table, tmp_path / "other", objectives=("acc=top1",), generations=1)
    (line,) = artist(compare_figure([history, other]), "run-1")
    assert line_points(line)[-1, 1] == other.values[:, 0].max()
