from __future__ import annotations

import numpy as np
import pytest

from evonas.errors import ConfigError
from evonas.genotype import Genotype, Individual
from evonas.objectives import parse_objectives
from evonas.populations import GeneModelProposal, LocalSearch, Variation
from evonas.populations.gene_model import gene_frequencies
from evonas.populations.manager import PopulationManager, SearchOptions
from evonas.search import RunConfig, Search
from evonas.spaces import get_space

OBJECTIVES = parse_objectives("acc,params")


def test_gene_frequencies_are_counts_smoothed_by_one_per_choice():
    frequencies = gene_frequencies(np.array([[0, 2], [0, 1], [1, 1]]), np.array([2, 3]))
    assert np.allclose(frequencies[0], [3 / 5, 2 / 5])
    assert np.allclose(frequencies[1], [1 / 6, 3 / 6, 2 / 6])
    assert np.allclose(gene_frequencies(np.zeros((0, 1)), np.array([4]))[0], 0.25)  # no rows: uniform


def manager_with_archive(space_name: str, rows: list[tuple[tuple[int, ...], float, float]], **options) -> PopulationManager:
    """A manager whose archive holds ``rows`` of (genes, acc, params)."""
    space = get_space(space_name)
    manager = PopulationManager(space, OBJECTIVES, options=SearchOptions(**options))
    manager.tell([Individual(uid, Genotype(space.name, genes), str(genes), {"acc": acc, "params": params})
                  for uid, (genes, acc, params) in enumerate(rows)])
    return manager


def archive_preferring_last_choice(count: int, seed: int = 0) -> list[tuple[tuple[int, ...], float, float]]:
    """Random macro genotypes; the first gene's last choice (2) alone makes an architecture better on both objectives."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(count):
        genes = tuple(int(g) for g in rng.integers(3, size=8))
        good = genes[0] == 2
        rows.append((genes, 90.0 + good + rng.random(), 10.0 - good + rng.random()))
    return rows


def test_the_model_draws_mostly_what_the_good_group_chose():
    manager = manager_with_archive("macro", archive_preferring_last_choice(60))
    model = GeneModelProposal(share=1.0, until=300)
    offspring = model.propose(manager, 24, np.random.default_rng(0), set())
    assert len(offspring) == 24 and all(o.operator == "gene-model" and len(o.parents) == 1 for o in offspring)
    assert sum(o.genotype.genes[0] == 2 for o in offspring) >= 20  # a third by chance
    uniform = [manager.space.sample(np.random.default_rng(s)) for s in range(24)]
    assert sum(g.genes[0] == 2 for g in uniform) < 15


def test_proposals_are_unseen_canonical_forms_each_once_and_not_taken():
    space = get_space("nb201")
    rng = np.random.default_rng(3)
    rows = [(space.sample(rng).genes, float(rng.random()), float(rng.random())) for _ in range(40)]
    manager = manager_with_archive("nb201", rows)
    taken = {space.canonical(space.sample(np.random.default_rng(s))) for s in range(200)}
    offspring = GeneModelProposal(share=1.0, until=300).propose(manager, 30, np.random.default_rng(1), taken)
    forms = [o.genotype for o in offspring]
    assert len(forms) == len(set(forms)) == 30
    assert all(space.canonical(g) == g and not manager.is_evaluated(g) and g not in taken for g in forms)


def test_each_proposal_descends_from_the_nearest_member_of_the_good_group():
    rows = archive_preferring_last_choice(60, seed=1)
    manager = manager_with_archive("macro", rows)
    members = [ind for ind in manager.archive.values() if ind.ok]
    ranks, crowding = manager.rank_and_crowding(members)
    order = np.lexsort(([ind.uid for ind in members], -crowding, ranks))
    good = [members[i] for i in order[: int(np.ceil(0.25 * len(members)))]]
    for child in GeneModelProposal(share=1.0).propose(manager, 12, np.random.default_rng(3), set()):
        distance = {ind.uid: sum(a != b for a, b in zip(ind.genotype.genes, child.genotype.genes)) for ind in good}
        (parent,) = child.parents
        assert distance[parent] == min(distance.values())
        assert parent == next(ind.uid for ind in good if distance[ind.uid] == distance[parent])  # the better ranked of equals


def test_same_rng_same_proposals_other_rng_other_proposals():
    manager = manager_with_archive("macro", archive_preferring_last_choice(40, seed=2))
    model = GeneModelProposal(share=1.0)
    first = model.propose(manager, 12, np.random.default_rng(5), set())
    assert first == model.propose(manager, 12, np.random.default_rng(5), set())
    assert first != model.propose(manager, 12, np.random.default_rng(6), set())


def test_it_proposes_its_share_and_nothing_once_the_archive_reaches_its_limit_or_is_too_small():
    rows = archive_preferring_last_choice(40)
    manager = manager_with_archive("macro", rows)
    assert len(GeneModelProposal(share=0.25).propose(manager, 24, np.random.default_rng(0), set())) == 6
    size = len(manager.archive)
    assert len(GeneModelProposal(share=1.0, until=size + 1).propose(manager, 24, np.random.default_rng(0), set())) == 24
    assert GeneModelProposal(share=1.0, until=size).propose(manager, 24, np.random.default_rng(0), set()) == []
    assert GeneModelProposal(share=1.0).propose(manager_with_archive("macro", rows[:1]), 24, np.random.default_rng(0), set()) == []


def test_the_default_pipeline_starts_with_the_gene_model_then_local_search_with_neutral_moves():
    options = SearchOptions(model_share=0.5, model_evaluations=200, neutral_moves=True)
    pipeline = PopulationManager(get_space("nb201"), OBJECTIVES, options=options).pipeline
    assert [type(piece) for piece in pipeline.proposals] == [GeneModelProposal, LocalSearch, Variation]
    model, local = pipeline.proposals[:2]
    assert (model.share, model.until, local.neutral_moves) == (0.5, 200, True)


@pytest.mark.parametrize("settings", [{"share": 1.5}, {"until": -1}, {"gamma": 0.0}, {"gamma": 1.0}, {"candidates": 0}])
def test_bad_settings_are_config_errors(settings):
    with pytest.raises(ConfigError):
        GeneModelProposal(**settings)


def whole_and_resumed(config: RunConfig, tmp_path, steps: int) -> tuple[list[str], list[str]]:
    """evaluations.csv rows (without the seconds) of an uninterrupted run and of one stopped after ``steps`` generations and resumed."""
    Search.start(config, tmp_path / "whole").run()
    cut = Search.start(config, tmp_path / "cut")
    cut.evaluator.prepare()
    for _ in range(steps):
        cut.step()
    cut.close()
    Search.resume(tmp_path / "cut").run()
    return tuple([row.rsplit(",", 1)[0] for row in (tmp_path / name / "evaluations.csv").read_text().splitlines()] for name in ("whole", "cut"))


def test_a_search_with_the_gene_model_resumes_exactly_and_a_run_json_from_before_it_runs_without_it(synthetic_table, tmp_path):
    config = RunConfig(space="macro", evaluator="table", evaluator_options={"table": str(synthetic_table)}, objectives=("acc=top1", "params"),
                       evaluations=96, seed=2, search=SearchOptions(population=12, model_share=0.5, model_evaluations=72))
    whole, resumed = whole_and_resumed(config, tmp_path, 4)
    assert whole == resumed
    assert sum("gene-model" in row for row in whole) > 12
    older = config.to_json()
    del older["search"]["model_share"], older["search"]["neutral_moves"]
    assert RunConfig.from_json(older).search.model_share == 0.0 and not RunConfig.from_json(older).search.neutral_moves
