from __future__ import annotations

import csv
import dataclasses

import pytest

from evonas.errors import TableError
from evonas.evaluators.table import TableEvaluator
from evonas.populations.manager import SearchOptions
from evonas.search import RunConfig, Search
from tests.tables import write_macro_table


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    return write_macro_table(tmp_path_factory.mktemp("tables") / "macro.csv")


def config(table, **changes):
    base = RunConfig(
        space="macro",
        evaluator="table",
        evaluator_options={"table": str(table)},
        objectives=("acc=top1", "params"),
        search=SearchOptions(population=12),
        generations=8,
        seed=3,
    )
    return dataclasses.replace(base, **changes)


def evaluations_without_time(run_dir):
    with open(run_dir / "evaluations.csv") as handle:
        return [row[:-1] for row in csv.reader(handle)]


def outputs(run_dir):
    return (run_dir / "front.csv").read_bytes(), evaluations_without_time(run_dir)


def test_same_seed_same_run_other_seed_other_run(table, tmp_path):
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        Search.start(config(table, seed=seed), tmp_path / name).run()
    assert outputs(tmp_path / "a") == outputs(tmp_path / "b")
    assert outputs(tmp_path / "a")[1] != outputs(tmp_path / "c")[1]


def test_evaluation_budget_counts_distinct_architectures(table, tmp_path):
    search = Search.start(config(table, generations=None, evaluations=50), tmp_path / "run")
    search.run()
    rows = evaluations_without_time(tmp_path / "run")[1:]
    assert len(rows) == 50 and len({r[2] for r in rows}) == 50
    assert search.generation == 4  # 12 + 12 + 12 + 12 + 2


@pytest.mark.parametrize("stop_after", [0, 3, 7])
def test_resume_after_a_completed_generation_equals_an_uninterrupted_run(table, tmp_path, stop_after):
    Search.start(config(table), tmp_path / "whole").run()
    interrupted = Search.start(config(table), tmp_path / "cut")
    interrupted.evaluator.prepare()
    for _ in range(stop_after + 1):
        interrupted.step()
    interrupted.close()  # as the process ending would
    Search.resume(tmp_path / "cut").run()
    assert outputs(tmp_path / "whole") == outputs(tmp_path / "cut")


class Crash(BaseException):
    """A crash of the main process (an evaluation's own exception is recorded as a failure instead)."""


def test_crash_inside_a_generation_reuses_its_logged_evaluations(table, tmp_path, monkeypatch):
    Search.start(config(table), tmp_path / "whole").run()
    original = TableEvaluator.evaluate_one
    calls = {"n": 0}

    def crashing(self, candidate):
        calls["n"] += 1
        if calls["n"] == 12 * 4 + 5:  # 5 evaluations into generation 4
            raise Crash
        return original(self, candidate)

    monkeypatch.setattr(TableEvaluator, "evaluate_one", crashing)
    with pytest.raises(Crash), Search.start(config(table), tmp_path / "cut") as crashing_search:
        crashing_search.run()
    counted = {"n": 0}

    def counting(self, candidate):
        counted["n"] += 1
        return original(self, candidate)

    monkeypatch.setattr(TableEvaluator, "evaluate_one", counting)
    Search.resume(tmp_path / "cut").run()
    assert counted["n"] == 12 * 9 - 12 * 4 - 4  # the 4 logged rows of generation 4 are not evaluated again
    assert outputs(tmp_path / "whole") == outputs(tmp_path / "cut")


def test_corrupt_newest_generation_falls_back_to_the_previous_one(table, tmp_path):
    Search.start(config(table), tmp_path / "whole").run()
    search = Search.start(config(table), tmp_path / "cut")
    for _ in range(4):
        search.step()
    newest = tmp_path / "cut" / "generations" / "000003.json"
    newest.write_text(newest.read_text()[:-20])
    search.close()
    warnings = []
    resumed = Search.resume(tmp_path / "cut", warn=warnings.append)
    assert resumed.generation == 2 and "000003.json" in warnings[0]
    resumed.run()
    assert outputs(tmp_path / "whole") == outputs(tmp_path / "cut")


def test_extending_a_finished_run_equals_running_longer(table, tmp_path):
    Search.start(config(table, generations=10), tmp_path / "long").run()
    with Search.start(config(table, generations=4), tmp_path / "extended") as short:
        short.run()
    extended = Search.resume(tmp_path / "extended", generations=10)
    assert not extended.finished
    extended.run()
    assert outputs(tmp_path / "long") == outputs(tmp_path / "extended")


def test_a_table_holding_part_of_the_space_is_refused_before_a_run_directory_exists(tmp_path):
    table = tmp_path / "tiny.csv"
    table.write_text("arch,top1,params\n00000000,1,1\n00000001,2,2\n")
    with pytest.raises(TableError, match="holds 2 of the 6,561 architectures of space 'macro' \\(it lacks 00000002"):
        Search.start(config(table, search=SearchOptions(population=4)), tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_exhausting_the_space_ends_the_run_after_every_architecture(table, tmp_path):
    search = Search.start(config(table, generations=None, evaluations=7000, search=SearchOptions(population=1500)), tmp_path / "run")
    search.run()
    assert search.exhausted and search.finished and search.evaluated == 6561
    assert len({r[2] for r in evaluations_without_time(tmp_path / "run")[1:]}) == 6561


def test_start_checks_the_evaluator_before_writing(tmp_path):
    with pytest.raises(TableError):
        Search.start(config(tmp_path / "absent.csv"), tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_config_round_trips_and_a_run_from_before_local_search_resumes_without_it(table):
    original = config(table, search=SearchOptions(population=12, local_search=0.5, predictor_pool=3.0))
    assert RunConfig.from_json(original.to_json()) == original
    older = original.to_json()
    del older["search"]["local_search"], older["search"]["predictor_pool"]
    assert RunConfig.from_json(older).search == SearchOptions(population=12, local_search=0.0, predictor_pool=1.0)


class SeedingTableEvaluator(TableEvaluator):
    """The table evaluator with the hooks a supernet strategy or surgery uses: seeds, lineage, survivors."""

    proposals: list = []

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen, self.survivors = [], []

    def seeds(self):
        return list(self.proposals)

    def evaluate_one(self, candidate):
        self.seen.append(candidate)
        return super().evaluate_one(candidate)

    def survived(self, generation, population, next_uid):
        self.survivors.append((generation, [ind.uid for ind in population], next_uid))


def seeded_search(table, run_dir, proposals, **changes):
    cfg = config(table, **changes)
    SeedingTableEvaluator.proposals = proposals
    evaluator = SeedingTableEvaluator(
        space=Search.evaluator_for(cfg, run_dir / "evaluator").space,
        sources={"acc": "top1", "params": "params"},
        table=str(table),
    )
    from evonas.checkpoint import RunStore

    store = RunStore.create(run_dir, cfg.to_json(), ["acc", "params"])
    return Search(cfg, store, evaluator)


def test_evaluator_seeds_open_generation_0_and_are_recorded_and_lineage_reaches_the_evaluator(table, tmp_path):
    from evonas.spaces import get_space

    space = get_space("macro")
    proposals = [space.decode(a) for a in ("22222222", "11111111", "22222222", "12121212")]
    search = seeded_search(table, tmp_path / "run", proposals, generations=2)
    search.run()
    generation0 = [c for c in search.evaluator.seen if c.generation == 0]
    assert [c.arch for c in generation0[:3]] == ["22222222", "11111111", "12121212"]  # duplicates dropped, order kept
    assert all(c.operator == "seed" and c.parents == () for c in generation0[:3])
    assert all(c.operator == "sample" for c in generation0[3:]) and len(generation0) == 12
    later = [c for c in search.evaluator.seen if c.generation > 0]
    assert later and all(c.parents and set(c.parents) < {c2.uid for c2 in search.evaluator.seen} for c in later)
    assert (tmp_path / "run" / "seeds.json").is_file()
    # survived: after each generation, with the population the checkpoint holds
    assert [g for g, _, _ in search.evaluator.survivors] == [0, 1, 2]
    assert search.evaluator.survivors[-1][1] == [ind.uid for ind in search.manager.population]
    assert search.evaluator.survivors[-1][2] == search.next_uid == 36


def test_recorded_seeds_are_used_on_resume_though_the_evaluator_proposes_none(table, tmp_path):
    from evonas.spaces import get_space

    space = get_space("macro")
    first = seeded_search(table, tmp_path / "run", [space.decode("22222222")], generations=1)
    first.step()
    first.close()
    first_generation = evaluations_without_time(tmp_path / "run")
    (tmp_path / "run" / "LATEST").unlink()
    for path in (tmp_path / "run" / "generations").iterdir():
        path.unlink()  # as if killed before generation 0 was checkpointed
    search = Search.resume(tmp_path / "run")  # a plain table evaluator: it proposes no seeds
    search.step()
    assert evaluations_without_time(tmp_path / "run") == first_generation
