from __future__ import annotations

import numpy as np

from evonas.genotype import Individual
from evonas.objectives import parse_objectives
from evonas.populations import LocalSearch, PopulationManager, SearchOptions, neutral_neighbours
from evonas.populations.proposals import swaps
from evonas.search import RunConfig
from evonas.spaces import get_space
from tests.test_gene_model import whole_and_resumed
from tests.test_manager import local_search_of, run

OBJECTIVES = parse_objectives("acc,params")
# node 1 is cut off from the input: edges 2<-1 and 3<-1 compute nothing
DEAD_NODE = "|none~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|nor_conv_3x3~2|"
REVIVED = "|nor_conv_1x1~0|+|nor_conv_3x3~0|none~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|"  # 1<-0 and 3<-1 changed


def nb201_manager(**options) -> PopulationManager:
    return PopulationManager(get_space("nb201"), OBJECTIVES, options=SearchOptions(**options))


def test_two_gene_moves_through_a_dead_edge_revive_it_and_no_single_move_reaches_them():
    space, manager = get_space("nb201"), nb201_manager()
    cell = space.decode(DEAD_NODE)
    further = neutral_neighbours(manager, cell)
    singles = {space.canonical(g) for g in space.neighbours(cell)}
    assert space.decode(REVIVED) in further
    assert not any(space.canonical(g) == space.decode(REVIVED) for g in space.neighbours(cell))
    assert further and len(further) == len(set(further))
    assert all(space.validate(g) == g == space.canonical(g) for g in further)  # valid canonical cells
    assert not singles.intersection(further) and space.canonical(cell) not in further
    assert all(sum(a != b for a, b in zip(g.genes, cell.genes)) == 2 for g in further)


def test_a_cell_without_dead_edges_and_a_space_without_equivalents_have_no_neutral_moves():
    space = get_space("nb201")
    full = space.decode("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|")
    # every single edit of a cell whose edges all compute something changes its function
    assert all(space.canonical(g) != full for g in space.neighbours(full))
    assert neutral_neighbours(nb201_manager(), full) == []
    assert neutral_neighbours(nb201_manager(equivalents=False), space.decode(DEAD_NODE)) == []
    macro = get_space("macro")
    assert neutral_neighbours(PopulationManager(macro, OBJECTIVES), macro.sample(np.random.default_rng(0))) == []


def test_local_search_goes_through_the_dead_edge_once_the_single_moves_are_used_up():
    space = get_space("nb201")
    cell = space.decode(DEAD_NODE)
    archive = [cell, *sorted({space.canonical(g) for g in space.neighbours(cell)} - {cell}, key=space.index)]
    plain, neutral = LocalSearch(), LocalSearch(neutral_moves=True)
    manager = nb201_manager()
    manager.tell([Individual(uid, g, space.encode(g), {"acc": 90.0 if g == cell else 50.0, "params": 1.0}) for uid, g in enumerate(archive)])
    proposed = neutral.propose(manager, 8, np.random.default_rng(0), set())
    assert len(proposed) == 8 and all(o.parents == (0,) for o in proposed)  # all from the best cell, whose single moves are evaluated
    assert {o.genotype for o in proposed} <= set(neutral_neighbours(manager, cell))
    assert all(o.parents != (0,) for o in plain.propose(manager, 8, np.random.default_rng(0), set()))


def test_swaps_exchange_two_different_choices_of_genes_with_the_same_options():
    space = get_space("nb201")
    cell = space.decode(DEAD_NODE)  # choices 0, 3, 0, 0, 0, 3
    exchanged = swaps(space, cell)
    assert len(exchanged) == len(set(exchanged)) == 2 * 4  # each of the two 3s with each of the four 0s
    assert all(sorted(g.genes) == sorted(cell.genes) and sum(a != b for a, b in zip(g.genes, cell.genes)) == 2 for g in exchanged)
    assert swaps(space, space.decode("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")) == []


def test_local_search_proposes_swaps_after_the_single_moves():
    space = get_space("nb201")
    cell = space.decode("|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_3x3~1|nor_conv_1x1~2|")
    manager = nb201_manager()
    archive = [cell, *sorted({space.canonical(g) for g in space.neighbours(cell)} - {cell}, key=space.index)]
    manager.tell([Individual(uid, g, space.encode(g), {"acc": 90.0 if g == cell else 50.0, "params": 1.0}) for uid, g in enumerate(archive)])
    unseen = {space.canonical(g) for g in swaps(space, cell)} - set(archive)
    assert len(unseen) >= 10
    proposed = LocalSearch(swap_moves=True).propose(manager, len(unseen), np.random.default_rng(0), set())
    assert {o.genotype for o in proposed} == unseen and all(o.parents == (0,) for o in proposed)


def test_neutral_moves_are_deterministic_and_remembering_used_up_neighbourhoods_changes_nothing():
    warm = nb201_manager(population=16, neutral_moves=True, swap_moves=True)
    run(warm, 50, 16)
    assert local_search_of(warm)._surrounded
    cold = nb201_manager(population=16, neutral_moves=True, swap_moves=True)
    cold.restore(list(warm.archive.values()), [i.uid for i in warm.population])
    for seed in range(3):
        assert warm.ask(16, np.random.default_rng(seed)) == cold.ask(16, np.random.default_rng(seed))
    again = nb201_manager(population=16, neutral_moves=True, swap_moves=True)
    run(again, 50, 16)
    assert list(again.archive) == list(warm.archive)
    without = run_and_return(nb201_manager(population=16, neutral_moves=False, swap_moves=False))
    assert list(again.archive) != list(without.archive)  # the moves change the search


def run_and_return(manager: PopulationManager) -> PopulationManager:
    run(manager, 50, 16)
    return manager


def test_a_table_search_with_neutral_moves_and_the_gene_model_resumes_exactly(nb201_table, tmp_path):
    config = RunConfig(space="nb201", evaluator="table", evaluator_options={"table": str(nb201_table)},
                       objectives=("acc=cifar10_test_acc", "latency=latency_fpga_ms"), evaluations=120, seed=5,
                       search=SearchOptions(population=12, neutral_moves=True, model_share=0.5, model_evaluations=60))
    whole, resumed = whole_and_resumed(config, tmp_path, 6)
    assert whole == resumed and any("neighbour" in row for row in whole)
    assert (tmp_path / "whole" / "front.csv").read_text() == (tmp_path / "cut" / "front.csv").read_text()
