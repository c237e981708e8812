"""Predictor-guided offspring: a surrogate fitted on the archive chooses which proposals to evaluate.

`PredictorFilter` (a pipeline filter, `evonas.populations.pipeline`): each generation the population
manager proposes more offspring than it evaluates; a ridge regression
on the one-hot encoding of the genes, fitted on every evaluated architecture (one model per
objective), predicts their objectives, and the proposals predicted to need the smallest improvement
to match or beat a member of the archive's Pareto front are kept. The idea of predictor-guided NAS
(e.g. White et al., "How Powerful are Performance Predictors in Neural Architecture Search?",
NeurIPS 2021) in its cheapest form: a
linear model is exact for objectives that add up over genes (parameters, FLOPs and many latency
tables) and a fair ranker of accuracy, costs microseconds, and draws no random numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from evonas.errors import ConfigError
from evonas.objectives import minimisation_matrix
from evonas.populations.nsga2 import nondominated_ranks
from evonas.populations.pipeline import Filter, Offspring
from evonas.spaces.base import SearchSpace

if TYPE_CHECKING:
    from evonas.populations.manager import PopulationManager


def one_hot(space: SearchSpace, genes: np.ndarray) -> np.ndarray:
    """(n, sum of the genes' choice counts) indicators of each gene's choice."""
    genes = np.asarray(genes, dtype=np.int64).reshape(-1, len(space.genes))
    offsets = np.concatenate([[0], np.cumsum(space.cardinalities)[:-1]])
    features = np.zeros((len(genes), int(space.cardinalities.sum())))
    features[np.arange(len(genes))[:, None], genes + offsets] = 1.0
    return features


def ridge_predictions(features: np.ndarray, targets: np.ndarray, queries: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Ridge regression (intercept unpenalised) of each target column, evaluated at ``queries``."""
    x_mean, y_mean = features.mean(axis=0), targets.mean(axis=0)
    x = features - x_mean
    weights = np.linalg.solve(x.T @ x + alpha * np.eye(x.shape[1]), x.T @ (targets - y_mean))
    return (queries - x_mean) @ weights + y_mean


def leave_one_out_r2(features: np.ndarray, targets: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Each target column's coefficient of determination when every row is predicted by the ridge fitted on the others.

    In closed form (the ridge's hat matrix ``H``: a row's leave-one-out residual is its residual
    over ``1 - H_ii``), the intercept counted in ``H`` as one parameter more; 1 for a column
    without variance.
    """
    x = features - features.mean(axis=0)
    y = targets - targets.mean(axis=0)
    inverse_x = np.linalg.solve(x.T @ x + alpha * np.eye(x.shape[1]), x.T)
    leverage = np.einsum("ij,ji->i", x, inverse_x) + 1.0 / len(x)
    residuals = (y - x @ (inverse_x @ y)) / np.maximum(1.0 - leverage, 1e-9)[:, None]
    spread = (y**2).sum(axis=0)
    return np.where(spread > 0, 1.0 - (residuals**2).sum(axis=0) / np.where(spread > 0, spread, 1.0), 1.0)


def shortfalls(points: np.ndarray, front: np.ndarray) -> np.ndarray:
    """How much each point must improve, on every objective alike, to match or beat some front member.

    ``min over front members f of max over objectives k of (point_k - f_k)``: 0 on the front,
    negative for a point that dominates a member, positive behind it, and positive too for a point
    in a gap between members that dominates none of them (it is measured from the nearest member).
    """
    return (points[:, None, :] - front[None, :, :]).max(axis=2).min(axis=1)


def closest_to_front(
    space: SearchSpace, evaluated: Sequence[Sequence[int]], values: np.ndarray, proposals: Sequence[Sequence[int]], n: int
) -> list[int]:
    """Indices of the ``n`` proposals with the smallest predicted `shortfalls`, in proposal order.

    Args:
        space: the search space of the genes.
        evaluated: genes of the evaluated architectures (feasible ones).
        values: their objective values to minimise, one row each.
        proposals: genes of the proposed architectures.
        n: how many to keep.

    Objectives are scaled to [0, 1] over the evaluated architectures before fitting; ties keep the
    earlier proposal.
    """
    if len(proposals) <= n:
        return list(range(len(proposals)))
    values = np.asarray(values, dtype=float)
    low, span = values.min(axis=0), np.ptp(values, axis=0)
    scaled = (values - low) / np.where(span > 0, span, 1.0)
    predicted = ridge_predictions(one_hot(space, np.asarray(evaluated)), scaled, one_hot(space, np.asarray(proposals)))
    distances = shortfalls(predicted, scaled[nondominated_ranks(scaled) == 0])
    return sorted(np.argsort(distances, kind="stable")[:n].tolist())


class PredictorFilter(Filter):
    """Proposes ``pool`` times as many offspring as are kept and keeps those `closest_to_front`.

    Fitted on the archive's feasible architectures (their canonical forms); while there is none,
    or while the ridge predicts some objective of them worse than ``min_fit`` (its
    `leave_one_out_r2`), every proposal is kept and no more are proposed: on NB201 accuracy,
    which the genes do not add up to (leave-one-out R^2 0.15-0.4 at 50-300 samples), a filter
    that cannot rank throws good proposals away; on the macro space (0.7-0.8) it keeps the better.

    Args:
        pool: offspring proposed per offspring kept (at least 1).
        min_fit: the least leave-one-out R^2, over the objectives, at which the predictor filters
            (0 or below: whenever it has data).
    """

    def __init__(self, pool: float = 2.0, *, min_fit: float = 0.0) -> None:
        if pool < 1.0:
            raise ConfigError(f"predictor pool must be at least 1, got {pool}")
        if min_fit > 1.0:
            raise ConfigError(f"predictor fit must be at most 1, got {min_fit}")
        self.pool = pool
        self.min_fit = min_fit

    def drawn(self, manager: PopulationManager, n: int) -> int:
        if self.pool <= 1.0:
            return n
        if not manager.feasible():
            return n
        if self.min_fit > 0.0:
            genes, values = self._training_set(manager)
            if len(genes) < 3 or leave_one_out_r2(one_hot(manager.space, genes), values).min() < self.min_fit:
                return n
        return math.ceil(n * self.pool)

    def select(self, manager: PopulationManager, offspring: Sequence[Offspring], n: int) -> list[Offspring]:
        if len(offspring) <= n:
            return list(offspring)
        genes, values = self._training_set(manager)
        keep = closest_to_front(manager.space, genes, values, [manager.canonical(child.genotype).genes for child in offspring], n)
        return [offspring[i] for i in keep]

    @staticmethod
    def _training_set(manager: PopulationManager) -> tuple[np.ndarray, np.ndarray]:
        """The canonical genes of the archive's feasible architectures (one row each) and their objective values to minimise."""
        evaluated = manager.feasible()
        genes = np.array([manager.canonical(ind.genotype).genes for ind in evaluated], dtype=np.int64).reshape(len(evaluated), -1)
        return genes, minimisation_matrix([ind.metrics for ind in evaluated], manager.objectives)
