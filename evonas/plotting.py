"""Figures of runs: the front after each generation, the hypervolume over time, several runs' fronts compared.

Each ``*_figure`` function returns a matplotlib `Figure` (no pyplot, no global state); `save_figure`
writes it as PNG, PDF or SVG by the file's suffix. Artists carry a ``gid`` ("generation-3",
"final-front", "run-0") so that what was drawn can be checked.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from evonas.checkpoint import PLOTS_DIR, output_path
from evonas.errors import ConfigError
from evonas.history import RunHistory, axis_label

FORMATS = (".png", ".pdf", ".svg")
FRONT_FILE = "front.png"
HYPERVOLUME_FILE = "hypervolume.png"
FINAL_COLOUR = "#d62728"
REPORT_SIZE = (6.4, 4.8)  # inches: a column of a report at 100 dpi and up


def _pairs(n_objectives: int) -> list[tuple[int, int]]:
    return [(i, j) for i in range(n_objectives) for j in range(n_objectives)]


def _grid(figure: Figure, n_objectives: int) -> np.ndarray:
    """One axes for two objectives; an n x n scatter matrix (x: column objective, y: row objective) for more."""
    if n_objectives == 2:
        return np.array([[figure.add_subplot()]])
    return np.asarray(figure.subplots(n_objectives, n_objectives, squeeze=False))


def _panels(history_objectives: Sequence, grid: np.ndarray) -> list[tuple[object, int, int]]:
    """(axes, x objective, y objective) of every scatter panel; diagonal panels of a matrix only get a label."""
    n = len(history_objectives)
    if n == 2:
        return [(grid[0, 0], 0, 1)]
    panels = []
    for row, column in _pairs(n):
        axes = grid[row, column]
        if row == column:
            axes.text(0.5, 0.5, axis_label(history_objectives[row]), ha="center", va="center", wrap=True, transform=axes.transAxes)
            axes.set_xticks([])
            axes.set_yticks([])
        else:
            panels.append((axes, column, row))
    return panels


def _label(axes, objectives, x: int, y: int, n: int) -> None:
    if n == 2:
        axes.set_xlabel(axis_label(objectives[x]))
        axes.set_ylabel(axis_label(objectives[y]))
    else:
        axes.set_xlabel(objectives[x].name, fontsize="small")
        axes.set_ylabel(objectives[y].name, fontsize="small")
        axes.tick_params(labelsize="x-small")


def _staircase(points: np.ndarray, minimised: np.ndarray) -> np.ndarray:
    """The front's points ordered along the first axis, so that a line joins neighbours."""
    return points[np.lexsort((minimised[:, 1], minimised[:, 0]))]


def best_so_far(history: RunHistory) -> np.ndarray:
    """A single-objective run's best value after each generation (NaN before the first feasible one)."""
    best = []
    for generation in range(history.generations):
        members = history.front_indices(generation)
        best.append(history.values[members[0], 0] if len(members) else np.nan)
    return np.array(best)


def _objective_figure(history: RunHistory) -> Figure:
    """A single objective over the run: every feasible evaluation at its generation, the best so far joined."""
    figure = Figure(figsize=REPORT_SIZE, layout="constrained")
    axes = figure.add_subplot()
    feasible = history.feasible
    axes.scatter(history.row_generations[feasible], history.values[feasible, 0], s=6, color="0.6", gid="evaluated",
                 label="evaluated")
    best = best_so_far(history)
    axes.plot(np.arange(history.generations), best, "-o", color=FINAL_COLOUR, markersize=4, linewidth=1.5, gid="final-front",
              label=f"best so far ({len(history.front_indices())} on the final front)")
    axes.set_xlabel("generation")
    axes.set_ylabel(axis_label(history.objectives[0]))
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.legend(loc="best", fontsize="small")
    figure.suptitle(f"{history.path.name}: {history.names[0]} after each generation")
    return figure


def fronts_figure(history: RunHistory) -> Figure:
    """Every evaluated point in grey, the front after each generation coloured by generation, and the final
    front highlighted and joined (a scatter matrix for three or more objectives; for one objective, its values
    over the generations with the best so far joined)."""
    objectives, n = history.objectives, len(history.objectives)
    if n == 1:
        return _objective_figure(history)
    figure = Figure(figsize=REPORT_SIZE if n == 2 else (2.6 * n, 2.4 * n), layout="constrained")
    grid = _grid(figure, n)
    norm = Normalize(0, max(history.generations - 1, 1))
    colours = ScalarMappable(norm=norm, cmap="viridis")
    final = history.front_indices()
    for axes, x, y in _panels(objectives, grid):
        evaluated = history.values[history.feasible]
        axes.scatter(evaluated[:, x], evaluated[:, y], s=6, color="0.8", gid="evaluated", label="evaluated")
        for generation in range(history.generations):
            members = history.front_indices(generation)
            line = _staircase(history.values[members][:, [x, y]], history.minimised[members][:, [x, y]])
            axes.plot(line[:, 0], line[:, 1], "-o", color=colours.to_rgba(generation), markersize=3, linewidth=0.8,
                      alpha=0.8, gid=f"generation-{generation}")
        points = history.values[final][:, [x, y]]
        ordered = _staircase(points, history.minimised[final][:, [x, y]])
        axes.plot(ordered[:, 0], ordered[:, 1], "-o", color=FINAL_COLOUR, markersize=5, linewidth=1.5, gid="final-front",
                  label=f"final front ({len(final)})")
        _label(axes, objectives, x, y, n)
    first = grid.flat[0] if n == 2 else grid[0, 1]
    first.legend(loc="best", fontsize="small")
    bar = figure.colorbar(colours, ax=list(grid.flat), label="generation", shrink=0.8)
    bar.locator = MaxNLocator(integer=True)
    bar.update_ticks()
    figure.suptitle(f"{history.path.name}: front after each generation")
    return figure


def hypervolume_figure(history: RunHistory) -> Figure:
    """The hypervolume of the front so far, over generations (left) and over evaluations (right). With one
    objective, where the hypervolume only measures the best value, the best value itself in its own units."""
    generations, evaluations, volumes = history.hypervolume_curve()
    single = len(history.objectives) == 1
    if single:
        volumes = best_so_far(history)
    figure = Figure(figsize=(REPORT_SIZE[0] * 1.5, REPORT_SIZE[1] * 0.75), layout="constrained")
    by_generation, by_evaluation = figure.subplots(1, 2, sharey=True)
    by_generation.plot(generations, volumes, "-o", markersize=3, gid="by-generation")
    by_generation.set_xlabel("generation")
    by_generation.set_ylabel(f"best {axis_label(history.objectives[0])}" if single else "hypervolume (normalised)")
    by_generation.xaxis.set_major_locator(MaxNLocator(integer=True))
    by_evaluation.plot(evaluations, volumes, "-o", markersize=3, gid="by-evaluation")
    by_evaluation.set_xlabel("architectures evaluated")
    for axes in (by_generation, by_evaluation):
        axes.grid(alpha=0.3)
    figure.suptitle(f"{history.path.name}: {'best ' + history.names[0] if single else 'hypervolume of ' + ' x '.join(history.names)}")
    return figure


def compare_figure(histories: Sequence[RunHistory]) -> Figure:
    """The final fronts of several runs of the same objectives, one colour each, with a legend."""
    names = histories[0].names
    for other in histories[1:]:
        if other.names != names:
            raise ConfigError(f"cannot compare {other.path} (objectives {', '.join(other.names)}) with {', '.join(names)}")
    objectives, n = histories[0].objectives, len(names)
    if n == 1:
        return _compare_best(histories)
    figure = Figure(figsize=REPORT_SIZE if n == 2 else (2.6 * n, 2.4 * n), layout="constrained")
    grid = _grid(figure, n)
    for axes, x, y in _panels(objectives, grid):
        for number, history in enumerate(histories):
            final = history.front_indices()
            ordered = _staircase(history.values[final][:, [x, y]], history.minimised[final][:, [x, y]])
            axes.plot(ordered[:, 0], ordered[:, 1], "-o", markersize=4, color=f"C{number}", gid=f"run-{number}",
                      label=f"{history.path.name} ({len(final)})")
        _label(axes, objectives, x, y, n)
    (grid.flat[0] if n == 2 else grid[0, 1]).legend(loc="best", fontsize="small")
    figure.suptitle("final fronts")
    return figure


def figure_path(path: Path) -> Path:
    """``path`` checked for a figure: a known suffix and a place that can be written."""
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise ConfigError(f"cannot write a figure as {path.suffix or 'a file without suffix'!r}; use {', '.join(FORMATS)}")
    return output_path(path)


def _compare_best(histories: Sequence[RunHistory]) -> Figure:
    """Single-objective runs compared: each one's best value after each generation, over evaluations."""
    figure = Figure(figsize=REPORT_SIZE, layout="constrained")
    axes = figure.add_subplot()
    for number, history in enumerate(histories):
        _, evaluations, _ = history.hypervolume_curve()
        axes.plot(evaluations, best_so_far(history), "-o", markersize=3, color=f"C{number}", gid=f"run-{number}",
                  label=history.path.name)
    axes.set_xlabel("architectures evaluated")
    axes.set_ylabel(f"best {axis_label(histories[0].objectives[0])}")
    axes.legend(loc="best", fontsize="small")
    figure.suptitle("best value so far")
    return figure


def save_figure(figure: Figure, path: Path) -> Path:
    """Writes ``figure`` as PNG, PDF or SVG by the suffix of ``path``; parent folders are created."""
    path = figure_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    figure.savefig(partial, dpi=120, format=path.suffix[1:].lower())
    os.replace(partial, path)
    return path


def plot_run(run_dir: Path, out: Path | None = None) -> list[Path]:
    """Writes the fronts figure to ``out`` (default ``RUN/plots/front.png``) and the hypervolume figure beside
    it (``<stem>-hypervolume<suffix>``, or ``plots/hypervolume.png``); returns both paths."""
    history = RunHistory.load(run_dir)
    if out is None:
        front, volume = history.path / PLOTS_DIR / FRONT_FILE, history.path / PLOTS_DIR / HYPERVOLUME_FILE
    else:
        front = figure_path(out)
        volume = figure_path(front.with_name(f"{front.stem}-hypervolume{front.suffix}"))
    return [save_figure(fronts_figure(history), front), save_figure(hypervolume_figure(history), volume)]
