"""Rank and crowding checked against DEAP's reference implementations on random data."""

from __future__ import annotations

import numpy as np
import pytest
from deap import base, tools
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from evonas.populations.nsga2 import (
    binary_tournament,
    constrained_ranks,
    crowding_distances,
    nondominated_ranks,
    survivors,
)


class _Fitness(base.Fitness):
    weights = (-1.0, -1.0, -1.0)


class _Individual(list):
    def __init__(self, values):
        super().__init__(values)
        self.fitness = _Fitness()
        self.fitness.values = tuple(values)


def _deap_ranks_and_crowding(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    _Fitness.weights = (-1.0,) * values.shape[1]
    population = [_Individual(row.tolist()) for row in values]
    index = {id(ind): i for i, ind in enumerate(population)}
    ranks = np.zeros(len(values), dtype=int)
    crowding = np.zeros(len(values))
    for rank, front in enumerate(tools.sortNondominated(population, len(population))):
        tools.emo.assignCrowdingDist(front)
        for ind in front:
            ranks[index[id(ind)]] = rank
            crowding[index[id(ind)]] = ind.fitness.crowding_dist
    return ranks, crowding


@pytest.mark.parametrize("n_objectives", [2, 3])
@pytest.mark.parametrize("seed", range(8))
def test_ranks_and_crowding_match_deap_on_random_data(n_objectives, seed):
    values = np.random.default_rng(seed).random((60, n_objectives))
    expected_ranks, expected_crowding = _deap_ranks_and_crowding(values)
    ranks = nondominated_ranks(values)
    np.testing.assert_array_equal(ranks, expected_ranks)
    # DEAP leaves fronts of one or two points at infinity too; compare finite values closely
    np.testing.assert_allclose(crowding_distances(values, ranks), expected_crowding, rtol=1e-12)


@settings(max_examples=50, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 30), st.integers(2, 3)), elements=st.integers(0, 5).map(float)))
def test_ranks_match_deap_with_ties(values):
    np.testing.assert_array_equal(nondominated_ranks(values), _deap_ranks_and_crowding(values)[0])


def test_constraint_domination_puts_feasible_first_then_by_violation():
    values = np.array([[0.0, 0.0], [1.0, 1.0], [-5.0, -5.0], [-9.0, -9.0], [2.0, 0.0]])
    violations = np.array([0.0, 0.0, 0.5, 0.1, 0.0])
    ranks = constrained_ranks(values, violations)
    assert list(ranks) == [0, 1, 3, 2, 1]  # infeasible dominate nothing, ordered by violation


def test_survivors_keep_whole_fronts_then_the_least_crowded():
    # front 0: 4 points on a line; front 1: one point; keep 3 -> both extremes and one interior point
    values = np.array([[0.0, 3.0], [1.0, 2.0], [1.1, 1.9], [3.0, 0.0], [4.0, 4.0]])
    kept = survivors(values, np.zeros(5), 3)
    assert {0, 3} <= set(kept) and 4 not in kept
    assert 2 in kept  # [1.1,1.9] lies between [1,2] and [3,0]: larger cuboid than [1,2]'s
    assert list(survivors(values, np.zeros(5), 5)) == [0, 1, 2, 3, 4]


def test_binary_tournament_prefers_lower_rank_then_larger_crowding():
    ranks = np.array([0, 1, 0])
    crowding = np.array([1.0, 9.0, 0.5])
    winners = binary_tournament(ranks, crowding, 4000, np.random.default_rng(0))
    counts = np.bincount(winners, minlength=3) / 4000
    # index 1 (rank 1) wins only against itself: 1/9 of draws
    assert abs(counts[1] - 1 / 9) < 0.02
    assert counts[0] > counts[2]
