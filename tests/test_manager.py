from __future__ import annotations

import json

import numpy as np
import pytest

from evonas.errors import CheckpointError, ConfigError, SpaceExhaustedError
from evonas.genotype import Genotype, Individual
from evonas.objectives import minimisation_matrix, parse_constraint, parse_objectives
from evonas.populations import (
    Filter,
    GeneModelProposal,
    LocalSearch,
    Offspring,
    Pipeline,
    PredictorFilter,
    Proposal,
    Sampling,
    Variation,
)
from evonas.populations.manager import PopulationManager, SearchOptions
from evonas.populations.nsga2 import nondominated_ranks, survivors
from evonas.populations.screening import ScreenOptions
from evonas.search import RunConfig, Search
from evonas.spaces import get_space
from tests.cli_runner import run_cli

OBJECTIVES = parse_objectives("acc,params")
SINGLE_GENE_MOVES_ONLY = {"model_share": 0.0, "neutral_moves": False, "swap_moves": False}


def local_search_of(manager: PopulationManager) -> LocalSearch:
    return next(piece for piece in manager.pipeline.proposals if isinstance(piece, LocalSearch))


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
    manager = PopulationManager(get_space("macro"), OBJECTIVES, options=SearchOptions(population=20))
    offspring = manager.ask(20, np.random.default_rng(0))
    assert len({o.genotype for o in offspring}) == 20
    assert all(o.operator == "sample" and o.parents == () for o in offspring)


def test_never_proposes_an_evaluated_genotype_and_exhausts_the_space_cleanly():
    space = get_space("macro")
    manager = PopulationManager(space, OBJECTIVES, options=SearchOptions(population=64))
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
    options = SearchOptions(population=30, local_search=0.0, predictor_pool=1.0, model_share=0.0)
    manager = PopulationManager(get_space("nb201"), OBJECTIVES, options=options)
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
        assert child.operator != "neighbour"


def test_local_search_proposes_unseen_neighbours_of_the_best_first():
    space = get_space("nb201")
    options = SearchOptions(population=30, local_search=1.0, predictor_pool=1.0, **SINGLE_GENE_MOVES_ONLY)
    manager = PopulationManager(space, OBJECTIVES, options=options)
    run(manager, 3, 30)
    archive = list(manager.archive.values())
    ranks = nondominated_ranks(minimisation_matrix([i.metrics for i in archive], OBJECTIVES))
    front_uids = {i.uid for i, r in zip(archive, ranks) if r == 0}
    by_uid = {ind.uid: ind for ind in archive}
    unseen_around_front = {  # as functions: a neighbour is proposed in its canonical form
        space.canonical(g) for uid in front_uids for g in space.neighbours(by_uid[uid].genotype) if not manager.is_evaluated(g)
    }
    n = min(30, len(unseen_around_front))
    offspring = manager.ask(n, np.random.default_rng(5))
    assert len({o.genotype for o in offspring}) == n
    for child in offspring:
        assert child.operator == "neighbour" and not manager.is_evaluated(child.genotype)
        (parent,) = child.parents
        assert parent in front_uids  # the front's neighbourhood is not exhausted, so nothing comes from behind it
        assert child.genotype in {space.canonical(g) for g in space.neighbours(by_uid[parent].genotype)}


def test_local_search_share_splits_a_generation_and_falls_back_to_variation():
    space = get_space("macro")
    manager = PopulationManager(space, OBJECTIVES, options=SearchOptions(population=20, local_search=0.25, predictor_pool=1.0, **SINGLE_GENE_MOVES_ONLY))
    run(manager, 3, 20)
    operators = [o.operator for o in manager.ask(20, np.random.default_rng(1))]
    assert operators.count("neighbour") == 5 and "sample" not in operators
    # more offspring than the archive's neighbourhoods hold: the rest come from variation, all distinct and new
    manager = PopulationManager(space, OBJECTIVES, options=SearchOptions(population=20, local_search=1.0, predictor_pool=1.0, **SINGLE_GENE_MOVES_ONLY))
    run(manager, 1, 20)
    around = {g for ind in manager.archive.values() for g in space.neighbours(ind.genotype) if g not in manager.archive}
    offspring = manager.ask(len(around) + 50, np.random.default_rng(2))
    assert {o.genotype for o in offspring if o.operator == "neighbour"} == around
    assert len({o.genotype for o in offspring}) == len(around) + 50
    assert not {o.genotype for o in offspring} & set(manager.archive)


@pytest.mark.parametrize("share", [-0.1, 1.5])
def test_local_search_share_out_of_range_is_a_config_error(share):
    with pytest.raises(ConfigError, match="local search share"):
        SearchOptions(local_search=share)


def test_tell_keeps_the_population_size_and_the_front_is_the_archive_front():
    manager = PopulationManager(get_space("macro"), OBJECTIVES, options=SearchOptions(population=24))
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
    a = PopulationManager(space, OBJECTIVES, options=SearchOptions(population=20))
    b = PopulationManager(space, OBJECTIVES, options=SearchOptions(population=20))
    run(a, 5, 20, seed=3)
    run(b, 5, 20, seed=3)
    assert [i.uid for i in a.population] == [i.uid for i in b.population]
    assert list(a.archive) == list(b.archive)


def test_constraints_keep_infeasible_out_of_the_front_and_behind_feasible_ones():
    constraints = [parse_constraint("params<=400")]
    manager = PopulationManager(get_space("macro"), OBJECTIVES, constraints, SearchOptions(population=20))
    run(manager, 5, 20)
    assert manager.front() and all(i.metrics["params"] <= 400 for i in manager.front())
    feasible = [i for i in manager.archive.values() if i.metrics["params"] <= 400]
    in_population = [i for i in manager.population if i.metrics["params"] <= 400]
    assert len(in_population) == min(20, len(feasible))


def test_restore_rebuilds_the_same_state():
    space = get_space("macro")
    a = PopulationManager(space, OBJECTIVES, options=SearchOptions(population=16))
    run(a, 4, 16)
    b = PopulationManager(space, OBJECTIVES, options=SearchOptions(population=16))
    b.restore(list(a.archive.values()), [i.uid for i in a.population])
    rng_a, rng_b = np.random.default_rng(7), np.random.default_rng(7)
    assert a.ask(16, rng_a) == b.ask(16, rng_b)


def test_remembering_used_up_neighbourhoods_changes_no_proposal():
    space = get_space("macro")
    warm = PopulationManager(space, OBJECTIVES, options=SearchOptions(population=16))
    run(warm, 30, 16)
    assert local_search_of(warm)._surrounded  # some members have every neighbour evaluated
    cold = PopulationManager(space, OBJECTIVES, options=SearchOptions(population=16))
    cold.restore(list(warm.archive.values()), [i.uid for i in warm.population])
    for seed in range(3):
        assert warm.ask(16, np.random.default_rng(seed)) == cold.ask(16, np.random.default_rng(seed))


def test_seeds_come_first_unless_evaluated_and_leave_the_other_draws_unchanged():
    space = get_space("macro")
    objectives = parse_objectives(["acc=top1", "params"])
    manager = PopulationManager(space, objectives, options=SearchOptions(population=6))
    seeds = [space.decode(a) for a in ("22222222", "11111111", "22222222")]
    asked = manager.ask(4, np.random.default_rng(0), seeds)
    assert [c.genotype for c in asked[:2]] == seeds[:2] and [c.operator for c in asked] == ["seed", "seed", "sample", "sample"]
    assert len({c.genotype for c in asked}) == 4
    assert [c.genotype for c in manager.ask(1, np.random.default_rng(0), seeds)] == seeds[:1]
    unseeded = manager.ask(2, np.random.default_rng(0))
    assert [c.genotype for c in asked[2:]] == [c.genotype for c in unseeded]  # same stream as without seeds
    manager.tell([Individual(0, seeds[0], "22222222", {"acc": 90.0, "params": 5.0})])
    assert manager.ask(1, np.random.default_rng(0), seeds)[0].genotype == seeds[1]  # an evaluated seed is skipped


def test_an_equivalent_of_an_evaluated_nb201_cell_is_never_proposed():
    space = get_space("nb201")
    objectives = parse_objectives("acc,params")
    manager = PopulationManager(space, objectives, options=SearchOptions(population=24))
    cut_off = space.decode("|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|none~2|")  # computes nothing
    manager.tell([Individual(0, cut_off, str(cut_off), {"acc": 10.0, "params": 1.0})])
    run_from = 1
    for generation in range(1, 30):
        offspring = manager.ask(24, np.random.default_rng([2, generation]), seeds=[space.decode(
            "|none~0|+|avg_pool_3x3~0|skip_connect~1|+|none~0|none~1|none~2|")])  # an equivalent of cut_off
        manager.tell(evaluate(offspring, run_from, generation))
        run_from += len(offspring)
    forms = [space.canonical(g) for g in manager.archive]
    assert len(forms) == len(set(forms)) == 1 + 29 * 24
    assert all(space.canonical(ind.genotype) == ind.genotype for ind in manager.archive.values() if ind.uid)  # canonical forms evaluated
    assert {o.operator for o in manager.archive.values()} >= {"neighbour", "sample"}
    assert all(manager.is_evaluated(g) for g in space.neighbours(cut_off) if space.canonical(g) == space.canonical(cut_off))


def test_without_equivalents_every_genotype_is_told_apart():
    space = get_space("nb201")
    manager = PopulationManager(space, parse_objectives("acc,params"), options=SearchOptions(equivalents=False))
    cut_off = space.decode("|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|none~2|")
    manager.tell([Individual(0, cut_off, str(cut_off), {"acc": 10.0, "params": 1.0})])
    twin = space.decode("|none~0|+|avg_pool_3x3~0|skip_connect~1|+|none~0|none~1|none~2|")
    assert not manager.is_evaluated(twin)
    assert manager.ask(1, np.random.default_rng(0), seeds=[twin])[0].genotype == twin


# -- a pipeline of pieces ---------------------------------------------------------------------
class Largest(Proposal):
    """A proposal piece of a user's own: the unevaluated architecture with every gene at its last choice, then nothing."""

    def propose(self, manager, n, rng, taken):
        largest = manager.canonical(Genotype(manager.space.name, tuple(len(gene) - 1 for gene in manager.space.genes)))
        return [] if n == 0 or manager.is_evaluated(largest) or largest in taken else [Offspring(largest, (), "largest")]


class FewestParams(Filter):
    """A filter of a user's own (in place of the predictor): draws three times as many, keeps the smallest genes' sums."""

    def drawn(self, manager, n):
        return 3 * n

    def select(self, manager, offspring, n):
        best = sorted(range(len(offspring)), key=lambda i: (sum(offspring[i].genotype.genes), i))[:n]
        return [offspring[i] for i in sorted(best)]


def test_the_default_pipeline_is_the_gene_model_local_search_variation_and_the_predictor():
    pipeline = PopulationManager(get_space("macro"), OBJECTIVES, options=SearchOptions(local_search=0.5, predictor_pool=4.0)).pipeline
    assert [type(piece) for piece in pipeline.proposals] == [GeneModelProposal, LocalSearch, Variation]
    assert pipeline.proposals[1].share == 0.5 and [(f.pool, f.min_fit) for f in pipeline.filters] == [(4.0, 0.5)]
    assert pipeline.screen is None and pipeline.survival is survivors
    without_model = PopulationManager(get_space("macro"), OBJECTIVES, options=SearchOptions(model_share=0.0)).pipeline
    assert [type(piece) for piece in without_model.proposals] == [LocalSearch, Variation]


def test_a_pipeline_without_local_search_proposes_what_a_zero_share_does():
    space = get_space("nb201")
    options = SearchOptions(population=20, local_search=0.0)
    model = GeneModelProposal(share=options.model_share, until=options.model_evaluations)
    built = Pipeline(proposals=(model, Variation()), filters=(PredictorFilter(pool=options.predictor_pool, min_fit=options.predictor_fit),))
    by_options, by_pieces = PopulationManager(space, OBJECTIVES, options=options), PopulationManager(space, OBJECTIVES, options=options, pipeline=built)
    run(by_options, 4, 20)
    run(by_pieces, 4, 20)
    assert list(by_options.archive) == list(by_pieces.archive)
    assert "neighbour" not in {ind.operator for ind in by_pieces.archive.values()}


def test_a_proposal_piece_of_ones_own_takes_its_turn_and_the_next_fills_the_rest():
    space = get_space("macro")
    manager = PopulationManager(space, OBJECTIVES, options=SearchOptions(population=10), pipeline=Pipeline(proposals=(Largest(), Sampling())))
    first = manager.ask(10, np.random.default_rng(0))
    assert first[0].operator == "largest" and first[0].genotype.genes == (2,) * 8
    assert [child.operator for child in first[1:]] == ["sample"] * 9 and len({child.genotype for child in first}) == 10
    manager.tell(evaluate(first, 0, 0))
    assert [child.operator for child in manager.ask(10, np.random.default_rng(1))] == ["sample"] * 10  # the largest is evaluated


def test_a_filter_of_ones_own_replaces_the_predictor_and_a_survival_function_replaces_nsga2s():
    space = get_space("macro")
    drawn = Sampling().propose(PopulationManager(space, OBJECTIVES), 30, np.random.default_rng(4), set())
    kept = sorted(drawn, key=lambda child: sum(child.genotype.genes))[:10]
    oldest = lambda values, violations, n: np.arange(min(n, len(values)))  # noqa: E731  keeps the first told
    manager = PopulationManager(space, OBJECTIVES, options=SearchOptions(population=10),
                                pipeline=Pipeline(proposals=(Sampling(),), filters=(FewestParams(),), survival=oldest))
    offspring = manager.ask(10, np.random.default_rng(4))
    assert {child.genotype for child in offspring} == {child.genotype for child in kept}
    manager.tell(evaluate(offspring, 0, 0))
    manager.tell(evaluate(manager.ask(10, np.random.default_rng(5)), 10, 1))
    assert [ind.uid for ind in manager.population] == list(range(10))


def test_restoring_makes_every_piece_forget_what_it_remembered():
    space = get_space("macro")
    warm = PopulationManager(space, OBJECTIVES, options=SearchOptions(population=16))
    run(warm, 30, 16)
    local_search = local_search_of(warm)
    assert local_search._surrounded
    warm.restore([], [])
    assert not local_search._surrounded


def test_bad_piece_settings_are_config_errors():
    with pytest.raises(ConfigError, match="predictor pool"):
        PredictorFilter(pool=0.5)
    with pytest.raises(ConfigError, match="crossover probability"):
        Variation(crossover_prob=2.0)
    with pytest.raises(ConfigError, match="unknown mutation 'nope'"):
        Variation(mutation="nope")
    with pytest.raises(ConfigError, match="max_tries"):
        Sampling(max_tries=0)


def test_a_search_runs_and_resumes_with_a_pipeline_of_ones_own(synthetic_table, tmp_path):
    config = RunConfig(space="macro", evaluator="table", evaluator_options={"table": str(synthetic_table)},
                       objectives=("acc=top1", "params"), search=SearchOptions(population=8), generations=4, seed=1)
    pipeline = lambda: Pipeline(proposals=(Largest(), Variation(mutation="neighbour")))  # noqa: E731  one per search
    Search.start(config, tmp_path / "whole", pipeline=pipeline()).run()
    cut = Search.start(config, tmp_path / "cut", pipeline=pipeline())
    cut.step()
    cut.step()
    cut.close()
    Search.resume(tmp_path / "cut", pipeline=pipeline()).run()
    whole = (tmp_path / "whole" / "evaluations.csv").read_text().splitlines()
    assert [row.split(",")[:5] for row in (tmp_path / "cut" / "evaluations.csv").read_text().splitlines()] == [
        row.split(",")[:5] for row in whole]
    assert (tmp_path / "cut" / "front.csv").read_bytes() == (tmp_path / "whole" / "front.csv").read_bytes()
    assert "largest" in whole[1] and "neighbour" in {row.split(",")[4] for row in whole[2:]}
    recorded = json.loads((tmp_path / "whole" / "run.json").read_text())["pipeline"]
    assert recorded["proposals"] == ["tests.test_manager:Largest", "evonas.populations.proposals:Variation"]
    default = Search.start(config, tmp_path / "default")
    default.run()
    assert (tmp_path / "default" / "front.csv").read_bytes() != (tmp_path / "whole" / "front.csv").read_bytes()


def test_a_pipeline_of_ones_own_refuses_the_runs_screen_settings(synthetic_table, tmp_path):
    config = RunConfig(space="macro", evaluator="table", evaluator_options={"table": str(synthetic_table)},
                       objectives=("acc=top1", "params"), screen=ScreenOptions(proxy="params"), generations=1)
    with pytest.raises(ConfigError, match="brings its own screen"):
        Search.start(config, tmp_path / "run", pipeline=Pipeline(proposals=(Sampling(),)))
    assert not (tmp_path / "run").exists()


def test_a_run_of_ones_own_pieces_resumes_with_them_only(synthetic_table, tmp_path, capsys):
    config = RunConfig(space="macro", evaluator="table", evaluator_options={"table": str(synthetic_table)},
                       objectives=("acc=top1", "params"), search=SearchOptions(population=4), generations=2, seed=1)
    with Search.start(config, tmp_path / "own", pipeline=Pipeline(proposals=(Largest(), Sampling()))) as search:
        search.step()
    with pytest.raises(CheckpointError, match="resume it with the same pieces"):
        Search.resume(tmp_path / "own", pipeline=Pipeline(proposals=(Sampling(),)))
    code, _, err = run_cli(["resume", tmp_path / "own"], capsys)
    assert code == 2 and "tests.test_manager:Largest" in err and len(err.strip().splitlines()) == 1
    with Search.start(config, tmp_path / "default") as search:
        search.step()
    with pytest.raises(CheckpointError, match="the pipeline of its options"):
        Search.resume(tmp_path / "default", pipeline=Pipeline(proposals=(Sampling(),)))
    Search.resume(tmp_path / "own", pipeline=Pipeline(proposals=(Largest(), Sampling()))).run()
