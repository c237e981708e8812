"""Evaluation through evonas.parallel: local processes, a real Dask LocalCluster and a real local Ray instance
give the serial run's results; failed evaluations are retried once, then recorded; a killed worker is survived."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from evonas.checkpoint import RunStore
from evonas.cli import main
from evonas.errors import ClusterError, ConfigError
from evonas.evaluators import Candidate, make_evaluator
from evonas.parallel import InProcessExecutor, Parallelism
from evonas.populations.manager import SearchOptions
from evonas.search import RunConfig, Search
from evonas.spaces import get_space
from tests.faulty_evaluator import FaultyTableEvaluator

SPACE = get_space("macro")
POPULATION, GENERATIONS = 12, 4


def config(table) -> RunConfig:
    return RunConfig(space="macro", evaluator="table", evaluator_options={"table": str(table)}, objectives=("acc=top1", "params"),
                     search=SearchOptions(population=POPULATION), generations=GENERATIONS, seed=5)


def injected(run_dir) -> list[str]:
    """The faults a faulty search injected (one marker file each)."""
    return sorted(p.name for p in (run_dir.parent / f"{run_dir.name}-markers").iterdir())


def faulty_search(table, run_dir, executor, faults, times=1) -> Search:
    cfg = config(table)
    (run_dir.parent / f"{run_dir.name}-markers").mkdir()
    evaluator = FaultyTableEvaluator(space=SPACE, sources={"acc": "top1", "params": "params"}, table=str(table),
                                     faults=faults, markers=run_dir.parent / f"{run_dir.name}-markers", times=times)
    return Search(cfg, RunStore.create(run_dir, cfg.to_json(), ["acc", "params"]), evaluator, executor)


def rows(run_dir) -> list[list[str]]:
    """evaluations.csv without its seconds column."""
    with open(run_dir / "evaluations.csv") as handle:
        return [row[:-1] for row in csv.reader(handle)]


def outputs(run_dir):
    return (run_dir / "front.csv").read_text(), rows(run_dir)


@pytest.fixture(scope="module")
def serial_run(synthetic_table, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("serial") / "run"
    Search.start(config(synthetic_table), run_dir).run()
    return outputs(run_dir)


def test_two_local_workers_give_the_serial_run_and_load_the_evaluator_once_each(synthetic_table, serial_run, tmp_path):
    with Parallelism(jobs=2).open() as executor:
        faulty_search(synthetic_table, tmp_path / "run", executor, faults={}).run()  # no faults: a table on the workers
        assert 1 <= executor.loads <= 2  # the evaluator reached each worker once, not once per generation or candidate
        assert executor._batch_size(POPULATION) > 1  # lookups are cheap: several go in one task
    assert outputs(tmp_path / "run") == serial_run


def test_a_table_is_looked_up_in_this_process_whatever_the_executor(synthetic_table, serial_run, tmp_path):
    with Parallelism(jobs=2).open() as executor:
        Search.start(config(synthetic_table), tmp_path / "run", executor=executor).run()
        assert executor.loads == 0
    assert outputs(tmp_path / "run") == serial_run


def test_an_evaluation_that_fails_once_is_retried_and_one_that_fails_twice_is_recorded_failed(synthetic_table, serial_run, tmp_path):
    faults = {3: "raise", 14: "nan", 20: "raise", 27: "nan"}
    search = faulty_search(synthetic_table, tmp_path / "once", InProcessExecutor(), faults)
    search.run()
    assert len(injected(tmp_path / "once")) == 4
    assert outputs(tmp_path / "once") == serial_run  # each failed once: the retry measured it
    search = faulty_search(synthetic_table, tmp_path / "twice", InProcessExecutor(), {3: "raise", 5: "nan"}, times=2)
    search.run()
    recorded = {int(r[1]): r for r in rows(tmp_path / "twice")[1:]}
    assert len(recorded) == POPULATION * (GENERATIONS + 1)
    assert recorded[3][5] == "failed: RuntimeError: injected fault on uid 3 second line" and recorded[3][6:] == ["", ""]
    assert recorded[5][5] == "failed: acc, params not finite"
    assert all(r[5] == "ok" for uid, r in recorded.items() if uid not in (3, 5))
    front = (tmp_path / "twice" / "front.csv").read_text()
    assert recorded[3][2] not in front and recorded[5][2] not in front
    assert all(math.isfinite(v) for ind in search.front() for v in ind.metrics.values())


def test_a_lost_cluster_stops_the_run_at_its_last_complete_generation_and_resume_finishes_it(synthetic_table, serial_run, tmp_path):
    class LosingExecutor(InProcessExecutor):
        """Loses its cluster in the middle of generation 2."""

        def _result(self, handle):
            self.tasks = getattr(self, "tasks", 0) + 1
            if self.tasks == 2 * POPULATION + 5:
                raise ClusterError("lost the dask scheduler at tcp://127.0.0.1:1: Stream is closed")
            return super()._result(handle)

    search = Search.start(config(synthetic_table), tmp_path / "run", executor=LosingExecutor())
    with pytest.raises(ClusterError, match="lost the dask scheduler"):
        search.run()
    assert search.generation == 1
    assert len(rows(tmp_path / "run")) == 1 + 2 * POPULATION + 4  # the evaluations done before the loss are kept
    search.close()  # the lost run's process lets go of the run directory, as it does when it exits
    with Search.resume(tmp_path / "run") as resumed:
        resumed.run()
    assert outputs(tmp_path / "run") == serial_run


def test_network_evaluators_measure_the_same_in_worker_processes_as_in_this_one(one_torch_thread):
    tiny = {"data": "digits", "epochs": 1, "batch_size": 128, "widths": {"channels": 4, "head_channels": 16}}
    rng = np.random.default_rng(1)
    candidates = [Candidate(i, g, SPACE.encode(g), np.random.SeedSequence(0, spawn_key=(1, i)))
                  for i, g in enumerate(SPACE.sample(rng) for _ in range(3))]
    with Parallelism(jobs=2).open() as executor:
        for name, options in (("supernet", {**tiny, "epochs": 3, "calibration_batches": 2}), ("train", tiny)):
            evaluator = make_evaluator(name, space=SPACE, sources={"acc": "acc", "flops": "flops"}, state_dir=None, options=options)
            evaluator.prepare(progress=False)
            here = [e.metrics for e in InProcessExecutor().evaluate(evaluator, candidates)]
            there = [e.metrics for e in executor.evaluate(evaluator, candidates)]
            assert there == here and len({m["flops"] for m in here}) == len(candidates)


def test_a_killed_local_worker_is_survived_and_one_killed_twice_is_recorded_failed(synthetic_table, serial_run, tmp_path):
    with Parallelism(jobs=2).open() as executor:
        faulty_search(synthetic_table, tmp_path / "run", executor, {POPULATION + 2: "die"}).run()
        assert injected(tmp_path / "run") == [f"{POPULATION + 2}-0"]  # a worker did die
        assert outputs(tmp_path / "run") == serial_run
        faulty_search(synthetic_table, tmp_path / "twice", executor, {POPULATION + 2: "die"}, times=2).run()
    recorded = rows(tmp_path / "twice")[1:]
    assert len(recorded) == POPULATION * (GENERATIONS + 1) and len(injected(tmp_path / "twice")) == 2
    assert [r[1] for r in recorded if r[5] != "ok"] == [str(POPULATION + 2)]
    assert recorded[POPULATION + 2][5].startswith("failed: worker lost: ")


@pytest.fixture(scope="module")
def dask_cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        yield cluster


def test_a_dask_cluster_gives_the_serial_run_and_survives_a_worker_killed_mid_generation(
    dask_cluster, synthetic_table, serial_run, tmp_path
):
    with Parallelism(backend="dask", address=dask_cluster.scheduler_address).open() as executor:
        assert executor.workers == 2
        faulty_search(synthetic_table, tmp_path / "run", executor, {POPULATION + 2: "die"}).run()
    assert injected(tmp_path / "run") == [f"{POPULATION + 2}-0"]  # a worker did die
    assert outputs(tmp_path / "run") == serial_run


def test_a_ray_instance_gives_the_serial_run_and_survives_a_worker_killed_mid_generation(
    ray_instance, synthetic_table, serial_run, tmp_path
):
    with Parallelism(backend="ray").open() as executor:
        faulty_search(synthetic_table, tmp_path / "run", executor, {2 * POPULATION + 3: "die"}).run()
    assert injected(tmp_path / "run") == [f"{2 * POPULATION + 3}-0"]
    assert outputs(tmp_path / "run") == serial_run


def test_backend_options_are_checked(synthetic_table, tmp_path, capsys):
    with pytest.raises(ConfigError, match="needs --scheduler"):
        Parallelism(backend="dask")
    with pytest.raises(ConfigError, match="--jobs applies to the loky backend"):
        Parallelism(backend="ray", jobs=2)
    common = ["evolve", "--space", "macro", "--evaluator", "table", "--table", str(synthetic_table), "--objectives", "acc=top1,params",
              "--quiet", "--run-dir", str(tmp_path / "run")]
    for extra, message in ((["--scheduler", "tcp://127.0.0.1:8786"], "--scheduler needs --backend dask"),
                           (["--backend", "dask", "--scheduler", "tcp://127.0.0.1:9"], "cannot reach the dask scheduler at tcp://127.0.0.1:9"),
                           (["--backend", "ray", "--address", "127.0.0.1:9"], "cannot reach the ray cluster at 127.0.0.1:9")):
        with pytest.raises(SystemExit) as exit_:
            main(common + extra)
        err = capsys.readouterr().err
        assert exit_.value.code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_the_cli_resumes_a_run_with_other_execution_options(synthetic_table, serial_run, tmp_path):
    run_dir = str(tmp_path / "run")
    main(["evolve", "--space", "macro", "--evaluator", "table", "--table", str(synthetic_table), "--objectives", "acc=top1,params",
          "--population", str(POPULATION), "--generations", "1", "--seed", "5", "--quiet", "--run-dir", run_dir])
    main(["resume", run_dir, "--generations", str(GENERATIONS), "--jobs", "2", "--quiet"])
    assert outputs(tmp_path / "run") == serial_run


def test_a_train_run_written_with_the_evaluators_own_jobs_resumes_without_them():
    older = RunConfig(space="macro", evaluator="train", objectives=("acc",), evaluator_options={"epochs": 1}).to_json()
    older["evaluator_options"].update(jobs=2, backend="loky")
    assert RunConfig.from_json(older).evaluator_options == {"epochs": 1}


@pytest.mark.parametrize("environment, changed", [({"MALLOC_TRIM_THRESHOLD_": "65536"}, "True"), ({}, "False")])
def test_a_worker_started_with_dasks_trim_threshold_gets_the_allocator_thresholds_back(environment, changed):
    import os
    import subprocess
    import sys

    clean = {k: v for k, v in os.environ.items() if k != "MALLOC_TRIM_THRESHOLD_"}
    result = subprocess.run(
        [sys.executable, "-c", "from evonas.parallel import unfreeze_allocator; print(unfreeze_allocator())"],
        env={**clean, **environment}, capture_output=True, text=True, check=True,
    )
    assert result.stdout.strip() == changed
