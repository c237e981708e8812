from __future__ import annotations

import numpy as np
import pytest

from evonas.genotype import Individual
from evonas.objectives import parse_objectives
from evonas.populations.manager import PopulationManager, SearchOptions
from evonas.populations.predictor import (
    PredictorFilter,
    closest_to_front,
    leave_one_out_r2,
    one_hot,
    ridge_predictions,
    shortfalls,
)
from evonas.spaces import get_space

SPACE = get_space("macro")  # 8 genes x 3 choices
OBJECTIVES = parse_objectives("acc,params")
COST = np.array([[0.0, 3.0, 7.0], [0.0, 2.0, 9.0], [0.0, 4.0, 5.0], [0.0, 1.0, 6.0],
                 [0.0, 5.0, 8.0], [0.0, 2.5, 3.5], [0.0, 6.0, 7.5], [0.0, 1.5, 2.0]])


def additive(genes) -> float:
    return float(sum(COST[i, g] for i, g in enumerate(genes)))


def test_one_hot_marks_one_choice_per_gene():
    features = one_hot(SPACE, [[0, 1, 2, 0, 1, 2, 0, 1], [2] * 8])
    assert features.shape == (2, 24) and (features.sum(axis=1) == 8).all()
    assert features[0, [0, 4, 8, 9, 13, 17, 18, 22]].all() and features[1, 2::3].all()


def test_ridge_recovers_an_objective_that_adds_up_over_genes():
    rng = np.random.default_rng(0)
    genes = rng.integers(3, size=(200, 8))
    targets = np.array([[additive(g)] for g in genes])
    queries = rng.integers(3, size=(50, 8))
    predicted = ridge_predictions(one_hot(SPACE, genes), targets, one_hot(SPACE, queries), alpha=1e-6)
    assert np.allclose(predicted[:, 0], [additive(q) for q in queries], atol=1e-3)


def test_shortfall_is_negative_beyond_the_front_zero_on_it_and_measured_from_the_nearest_member():
    front = np.array([[0.0, 1.0], [1.0, 0.0]])
    points = np.array([[-0.5, 0.5], [0.0, 1.0], [0.5, 1.25], [1.0, 1.0], [0.5, 0.5], [0.9, 0.9]])
    # the last two dominate no member and are dominated by none: they lie in the gap, 0.5 and 0.9 from a member
    assert shortfalls(points, front).tolist() == pytest.approx([-0.5, 0.0, 0.5, 1.0, 0.5, 0.9])


def test_closest_to_front_keeps_the_proposals_predicted_best_in_proposal_order():
    rng = np.random.default_rng(1)
    evaluated = rng.integers(3, size=(120, 8))
    # two objectives to minimise that trade off: cost, and the negated cost plus a penalty on gene 0
    values = np.array([[additive(g), -additive(g) + 10 * g[0]] for g in evaluated])
    proposals = [[0, 1, 1, 1, 1, 1, 1, 1], [2, 1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1, 1, 1], [0, 2, 2, 2, 2, 2, 2, 2]]
    # gene 0 != 0 only adds penalty: proposals 1 and 2 are dominated by proposal 0
    assert closest_to_front(SPACE, evaluated, values, proposals, 2) == [0, 3]
    assert closest_to_front(SPACE, evaluated, values, proposals, 9) == [0, 1, 2, 3]


def evaluate(offspring, first_uid):
    return [Individual(first_uid + i, o.genotype, str(o.genotype), {"acc": 50 + additive(o.genotype.genes),
                                                                     "params": 10 + additive(o.genotype.genes[::-1]) ** 1.5})
            for i, o in enumerate(offspring)]


def test_the_manager_evaluates_the_predicted_best_of_a_larger_pool():
    with_pool = PopulationManager(SPACE, OBJECTIVES, options=SearchOptions(population=12, predictor_pool=3.0))
    without = PopulationManager(SPACE, OBJECTIVES, options=SearchOptions(population=12, predictor_pool=1.0))
    for manager in (with_pool, without):
        manager.tell(evaluate(manager.ask(12, np.random.default_rng(0)), 0))
    pool = without.ask(36, np.random.default_rng(1))
    chosen = with_pool.ask(12, np.random.default_rng(1))
    assert len(chosen) == 12 and {c.genotype for c in chosen} <= {p.genotype for p in pool}
    assert chosen == with_pool.ask(12, np.random.default_rng(1))  # no randomness of its own
    archive = list(with_pool.archive.values())
    keep = closest_to_front(SPACE, [i.genotype.genes for i in archive],
                            np.array([[-i.metrics["acc"], i.metrics["params"]] for i in archive]),
                            [p.genotype.genes for p in pool], 12)
    assert [c.genotype for c in chosen] == [pool[i].genotype for i in keep]


def test_predictor_pool_below_one_is_a_config_error():
    from evonas.errors import ConfigError

    with pytest.raises(ConfigError, match="predictor pool"):
        SearchOptions(predictor_pool=0.5)


def test_leave_one_out_r2_equals_refitting_without_each_row_and_tells_additive_from_not():
    rng = np.random.default_rng(4)
    genes = rng.integers(3, size=(40, 8))
    noise = rng.normal(size=40)
    targets = np.array([[additive(g), noise[i], 5.0] for i, g in enumerate(genes)])
    features = one_hot(SPACE, genes)
    held_out = np.array([ridge_predictions(np.delete(features, i, 0), np.delete(targets, i, 0), features[i:i + 1])[0] for i in range(40)])
    centred = targets - targets.mean(axis=0)
    expected = 1 - ((targets - held_out) ** 2).sum(axis=0)[:2] / (centred**2).sum(axis=0)[:2]
    r2 = leave_one_out_r2(features, targets)
    assert r2[:2] == pytest.approx(expected) and r2[2] == 1.0  # a constant column is predicted exactly
    assert r2[0] > 0.9 and r2[1] < 0.1


def test_the_filter_draws_no_more_while_the_predictor_fits_some_objective_worse_than_its_minimum():
    rng = np.random.default_rng(5)
    genotypes = {SPACE.sample(rng) for _ in range(60)}
    noisy, additive_only = (PopulationManager(SPACE, OBJECTIVES, options=SearchOptions(population=12)) for _ in range(2))
    noisy.tell([Individual(i, g, str(g), {"acc": 50 + additive(g.genes), "params": float(rng.random())}) for i, g in enumerate(genotypes)])
    additive_only.tell([Individual(i, g, str(g), {"acc": 50 + additive(g.genes), "params": additive(g.genes[::-1])})
                        for i, g in enumerate(genotypes)])
    assert PredictorFilter(pool=3.0).drawn(noisy, 10) == 30
    assert PredictorFilter(pool=3.0, min_fit=0.5).drawn(noisy, 10) == 10  # params is noise: the predictor cannot rank it
    assert PredictorFilter(pool=3.0, min_fit=0.5).drawn(additive_only, 10) == 30
