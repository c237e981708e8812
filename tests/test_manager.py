from __future__ import annotations

import numpy as np
import pytest

from evonas.errors import SpaceExhaustedError
from evonas.genotype import Individual
from evonas.objectives import minimisation_matrix, parse_constraint, parse_objectives
from evonas.populations.manager import NSGA2Options, PopulationManager
from evonas.populations.nsga2 import nondominated_ranks
from evonas.spaces import get_space

OBJECTIVES = parse_objectives("acc,params")


def fake_metrics(genes: tuple[int, ...]) -> dict[str, float]:
    """A deterministic trade-off: capacity raises both accuracy (with diminishing returns) and size."""
    capacity = sum(g * (1 + i % 3) for i, g in enumerate(genes))
    return {"acc": 60 + 10 * np.log1p(capacity) + (hash(genes) % 7) / 10, "params": 100 + 37 * capacity + genes[0]}


def evaluate(offspring, first_uid, generation):
    return [
        Individual(first_uid + i, o.genotype, str(o.genotype), fake_metrics(o.genotype.genes), generation, o.parents, o.operator)
        for i, o in enumerate(offspring)
    ]


def run(manager, generations, n, seed=0):
    uid = 0
    for generation in range(generations):
        offspring = manager.ask(n, np.random.default_rng([seed, generation]))
        manager.tell(evaluate(offspring, uid, generation))
        uid += len(offspring)
    return uid


def test_initial_population_is_random_and_distinct():
    manager = PopulationManager(get_space("macro"), OBJECTIVES, options=NSGA2Options(population=20))
    offspring = manager.ask(20, np.random.default_rng(0))
    assert len({o.genotype for o in offspring}) == 20
    assert all(o.operator == "sample" and o.parents == () for o in offspring)


def test_never_proposes_an_evaluated_genotype_and_exhausts_the_space_cleanly():
    space = get_space("macro")
    manager = PopulationManager(space, OBJECTIVES, options=NSGA2Options(population=64))
    seen = []
    generation = 0
    while len(seen) < space.size:
        offspring = manager.ask(500, np.random.default_rng([1, generation]))
        seen.extend(o.genotype for o in offspring)
        manager.tell(evaluate(offspring, len(seen) - len(offspring), generation))
        generation += 1
    assert len(set(seen)) == len(seen) == space.size
    with pytest.raises(SpaceExhaustedError):
        manager.ask(1, np.random.default_rng(0))


def test_offspring_come_from_selected_parents_with_their_lineage():
    manager = PopulationManager(get_space("nb201"), OBJECTIVES, options=NSGA2Options(population=30))
    run(manager, 3, 30)
    by_uid = {ind.uid: ind for ind in manager.archive.values()}
    offspring = manager.ask(30, np.random.default_rng(99))
    population_uids = {ind.uid for ind in manager.population}
    for child in offspring:
        if child.operator == "sample":
            continue
        assert set(child.parents) <= population_uids
        differences = [sum(a != b for a, b in zip(child.genotype.genes, by_uid[p].genotype.genes)) for p in child.parents]
        assert min(differences) >= 1


def test_tell_keeps_the_population_size_and_the_front_is_the_archive_front():
    manager = PopulationManager(get_space("macro"), OBJECTIVES, options=NSGA2Options(population=24))
    run(manager, 6, 24)
    assert len(manager.population) == 24 and len(manager.archive) == 144
    archive = list(manager.archive.values())
    ranks = nondominated_ranks(minimisation_matrix([i.metrics for i in archive], OBJECTIVES))
    assert {i.uid for i, r in zip(archive, ranks) if r == 0} == {i.uid for i in manager.front()}
    # elitism: every archive front member that fits is in the population
    front = manager.front()
    if len(front) <= 24:
        assert {i.uid for i in front} <= {i.uid for i in manager.population}


def test_same_seed_same_offspring_and_search_improves_over_random():
    space = get_space("macro")
    a = PopulationManager(space, OBJECTIVES, options=NSGA2Options(population=20))
    b = PopulationManager(space, OBJECTIVES, options=NSGA2Options(population=20))
    run(a, 5, 20, seed=3)
    run(b, 5, 20, seed=3)
    assert [i.uid for i in a.population] == [i.uid for i in b.population]
    assert list(a.archive) == list(b.archive)


def test_constraints_keep_infeasible_out_of_the_front_and_behind_feasible_ones():
    constraints = [parse_constraint("params<=400")]
    manager = PopulationManager(get_space("macro"), OBJECTIVES, constraints, NSGA2Options(population=20))
    run(manager, 5, 20)
    assert manager.front() and all(i.metrics["params"] <= 400 for i in manager.front())
    feasible = [i for i in manager.archive.values() if i.metrics["params"] <= 400]
    in_population = [i for i in manager.population if i.metrics["params"] <= 400]
    assert len(in_population) == min(20, len(feasible))


def test_restore_rebuilds_the_same_state():
    space = get_space("macro")
    a = PopulationManager(space, OBJECTIVES, options=NSGA2Options(population=16))
    run(a, 4, 16)
    b = PopulationManager(space, OBJECTIVES, options=NSGA2Options(population=16))
    b.restore(list(a.archive.values()), [i.uid for i in a.population])
    rng_a, rng_b = np.random.default_rng(7), np.random.default_rng(7)
    assert a.ask(16, rng_a) == b.ask(16, rng_b)
