"""`RunHistory`: a run directory read back for reports — what was evaluated, the front after each generation,
and the hypervolume over time. Reads only the run's data files (JSON and CSV)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from evonas.checkpoint import EvaluationRow, RunStore
from evonas.errors import CheckpointError
from evonas.objectives import (
    Constraint,
    Objective,
    minimisation_matrix,
    parse_constraint,
    parse_objectives,
    total_violation,
)
from evonas.populations.nsga2 import nondominated_ranks

# Units of the metrics evonas measures itself; a table's columns carry the table's own units.
UNITS = {"latency": "ms", "params": "parameters", "flops": "FLOPs"}


def axis_label(objective: Objective) -> str:
    """``"latency (ms, lower is better)"``: the name, its unit where known, and its direction."""
    unit = UNITS.get(objective.name.lower()) or UNITS.get(objective.source.split(":")[0].lower())
    better = "higher" if objective.direction == "max" else "lower"
    return f"{objective.name} ({unit + ', ' if unit else ''}{better} is better)"


def hypervolume(points: np.ndarray, ideal: np.ndarray, nadir: np.ndarray) -> float:
    """Hypervolume of minimisation ``points`` normalised by ``ideal`` and ``nadir``, reference point 1.1.

    Points beyond the reference point add nothing. pymoo's exact algorithm computes it.
    """
    from pymoo.indicators.hv import HV

    points = np.asarray(points, dtype=float)
    if len(points) == 0:
        return 0.0
    span = np.where(nadir > ideal, nadir - ideal, 1.0)
    return float(HV(ref_point=np.full(points.shape[1], 1.1))((points - ideal) / span))


@dataclass(frozen=True)
class RunHistory:
    """Everything a report needs from a run directory, up to its newest complete generation.

    Attributes:
        path: the run directory.
        config: ``run.json``.
        objectives, constraints: as the run was configured.
        rows: every evaluation of the completed generations, in order.
        generations: number of completed generations.
    """

    path: Path
    config: dict[str, Any]
    objectives: tuple[Objective, ...]
    constraints: tuple[Constraint, ...]
    rows: tuple[EvaluationRow, ...]
    generations: int

    @classmethod
    def load(cls, run_dir: Path, warn: Callable[[str], None] | None = None) -> RunHistory:
        """Reads ``run_dir`` up to its newest trustworthy generation (`RunStore.restore_point`; ``warn`` hears
        about any it skips); `CheckpointError` if it is not a run or no generation is complete yet."""
        store = RunStore.open(run_dir)
        config = store.read_config()
        point = store.restore_point(warn)
        if point.state is None:
            raise CheckpointError(f"{store.path} has no complete generation yet")
        return cls(
            path=store.path,
            config=config,
            objectives=parse_objectives(config["objectives"]),
            constraints=tuple(parse_constraint(c) for c in config.get("constraints", ())),
            rows=tuple(point.committed),
            generations=point.state["generation"] + 1,
        )

    @property
    def names(self) -> list[str]:
        return [o.name for o in self.objectives]

    @cached_property
    def feasible(self) -> np.ndarray:
        """Whether each row counts for the front: evaluated fine, finite and within the constraints."""
        return np.array(
            [
                r.status == "ok"
                and all(math.isfinite(r.metrics[n]) for n in self.names)
                and total_violation(r.metrics, self.constraints) == 0
                for r in self.rows
            ],
            dtype=bool,
        )

    @cached_property
    def values(self) -> np.ndarray:
        """(rows, objectives) values as reported (not sign-flipped); NaN where missing."""
        return np.array([[r.metrics.get(n, math.nan) for n in self.names] for r in self.rows], dtype=float).reshape(
            len(self.rows), len(self.names)
        )

    @cached_property
    def minimised(self) -> np.ndarray:
        return minimisation_matrix([r.metrics for r in self.rows], self.objectives)

    @cached_property
    def row_generations(self) -> np.ndarray:
        return np.array([r.generation for r in self.rows], dtype=int)

    def front_indices(self, generation: int | None = None) -> np.ndarray:
        """Row indices of the feasible non-dominated set of everything evaluated up to ``generation``
        (default: the whole run), in row order."""
        limit = self.generations - 1 if generation is None else generation
        members = np.flatnonzero(self.feasible & (self.row_generations <= limit))
        if len(members) == 0:
            return members
        return members[nondominated_ranks(self.minimised[members]) == 0]

    def hypervolume_curve(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per completed generation: its index, evaluations so far, and the hypervolume of the front so far.

        Normalised by the ideal and nadir points of the run's final front (reference point 1.1), so the
        last value compares across runs of the same objectives only roughly; within a run it shows progress.
        """
        final = self.minimised[self.front_indices()]
        ideal, nadir = (final.min(axis=0), final.max(axis=0)) if len(final) else (None, None)
        generations = np.arange(self.generations)
        evaluations = np.array([int((self.row_generations <= g).sum()) for g in generations])
        volumes = np.array(
            [hypervolume(self.minimised[self.front_indices(g)], ideal, nadir) if ideal is not None else 0.0 for g in generations]
        )
        return generations, evaluations, volumes

    def found_in(self) -> dict[str, int]:
        """Arch string -> the generation that evaluated it."""
        return {r.arch: r.generation for r in self.rows}
