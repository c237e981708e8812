"""NSGA-II's numerics on arrays of objective values to minimise: ranking, crowding, survival, tournament.

Non-dominated sorting and crowding distance come from pymoo; this module adds Deb's
constraint-domination (feasible before infeasible, infeasible by total violation) around them.
"""

from __future__ import annotations

import numpy as np
from pymoo.operators.survival.rank_and_crowding.metrics import calc_crowding_distance
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting


def nondominated_ranks(values: np.ndarray) -> np.ndarray:
    """Pareto rank of each row (0 = non-dominated), all objectives minimised."""
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return np.zeros(0, dtype=int)
    _, ranks = NonDominatedSorting().do(values, return_rank=True)
    return ranks.astype(int)


def crowding_distances(values: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """Crowding distance of each row within its own front (infinite at a front's extremes)."""
    values = np.asarray(values, dtype=float)
    distances = np.zeros(len(values))
    for rank in np.unique(ranks):
        members = np.flatnonzero(ranks == rank)
        if len(members) <= 2:
            distances[members] = np.inf
        else:
            distances[members] = calc_crowding_distance(values[members])
    return distances


def constrained_ranks(values: np.ndarray, violations: np.ndarray) -> np.ndarray:
    """Ranks under constraint-domination.

    Feasible rows (violation 0) get their Pareto rank among feasible rows; infeasible rows come
    after every feasible rank, ordered by total violation (equal violations share a rank).
    """
    violations = np.asarray(violations, dtype=float)
    ranks = np.zeros(len(values), dtype=int)
    feasible = violations <= 0
    if feasible.any():
        ranks[feasible] = nondominated_ranks(values[feasible])
    infeasible = np.flatnonzero(~feasible)
    if len(infeasible):
        start = ranks[feasible].max() + 1 if feasible.any() else 0
        _, order = np.unique(violations[infeasible], return_inverse=True)
        ranks[infeasible] = start + order
    return ranks


def rank_and_crowding(values: np.ndarray, violations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Constraint-domination ranks and crowding distances (0 for infeasible rows)."""
    ranks = constrained_ranks(values, violations)
    feasible = np.asarray(violations) <= 0
    crowding = np.zeros(len(values))
    if feasible.any():
        crowding[feasible] = crowding_distances(values[feasible], ranks[feasible])
    return ranks, crowding


def survivors(values: np.ndarray, violations: np.ndarray, n: int) -> np.ndarray:
    """Indices of the ``n`` rows NSGA-II keeps: by rank, the last front cut by descending crowding.

    Ties in crowding keep the earlier row, so the result depends only on the input order.
    """
    ranks, crowding = rank_and_crowding(values, violations)
    order = np.lexsort((np.arange(len(ranks)), -crowding, ranks))
    return np.sort(order[:n])


def binary_tournament(ranks: np.ndarray, crowding: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` winners of binary tournaments: lower rank wins, then larger crowding, then a coin.

    Draws ``2 n`` indices and ``n`` coin flips from ``rng``.
    """
    pairs = rng.integers(len(ranks), size=(n, 2))
    coins = rng.random(n) < 0.5
    a, b = pairs[:, 0], pairs[:, 1]
    a_better = (ranks[a] < ranks[b]) | ((ranks[a] == ranks[b]) & (crowding[a] > crowding[b]))
    b_better = (ranks[b] < ranks[a]) | ((ranks[a] == ranks[b]) & (crowding[b] > crowding[a]))
    return np.where(a_better, a, np.where(b_better, b, np.where(coins, a, b)))
