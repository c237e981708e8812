"""Parallel evaluation: candidates per second with 1 and 2 workers, through loky and Dask, side by side.

Three measurements, printed as markdown tables:

1. Throughput of the supernet evaluator (inherited-weight evaluation of the default macro supernet on
   cluttered digits; the supernet is trained for ``--supernet-epochs``, which does not change what an
   evaluation costs) and of the train evaluator (``--train-epochs`` of stand-alone training), in this
   process and with 1 and 2 workers of loky (local processes) and of a Dask LocalCluster (worker
   processes on loopback, one thread each). Every configuration is set up and warmed first (workers
   started, the evaluator shipped), then timed over the same candidates, round-robin, ``--repeats``
   times; medians. The evaluator's pickled size and how often a worker loaded it are reported too.
2. The main job (``evonas evolve --quiet``, defaults) with ``--jobs 1`` and ``--jobs 2``: wall time of
   the whole command and the seconds its generations spent evaluating (supernet training stays in one
   process).
3. A 1000-evaluation NB201 table run (``evonas evolve ... --evaluations 1000``) with ``--jobs 1`` and
   ``--jobs 2``, whole processes, alternated ``--repeats`` times.

    PYTHONPATH=$PWD nice -n 5 python benchmarks/parallel_scaling.py --repeats 3 --main-job
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import os
import pickle
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from evonas.evaluators import Candidate, make_evaluator
from evonas.parallel import DaskExecutor, InProcessExecutor, LokyExecutor
from evonas.spaces import get_space

SPACE = get_space("macro")
NB201_TABLE = Path(__file__).resolve().parents[2] / "shared" / "data" / "nb201" / "nb201.csv"


def candidates(n: int, stream: int) -> list[Candidate]:
    rng = np.random.default_rng(stream)
    genotypes = list(dict.fromkeys(SPACE.sample(rng) for _ in range(4 * n)))[:n]
    return [Candidate(i, g, SPACE.encode(g), np.random.SeedSequence(stream, spawn_key=(1, i))) for i, g in enumerate(genotypes)]


def throughput(evaluators: dict, counts: dict, repeats: int) -> None:
    from distributed import LocalCluster

    clusters = {k: LocalCluster(n_workers=k, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=":0")
                for k in (1, 2)}
    executors = {"in this process": InProcessExecutor(), "loky, 1 worker": LokyExecutor(1), "loky, 2 workers": LokyExecutor(2),
                 "dask, 1 worker": DaskExecutor(clusters[1].scheduler_address),
                 "dask, 2 workers": DaskExecutor(clusters[2].scheduler_address)}
    print("| evaluator | executor | candidates/s (median) | runs | x of 1 worker | start-up s | evaluator pickled MB | loads by workers |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, shipped in evaluators.items():
        # evaluating in this process changes the evaluator (a supernet's selected path and BatchNorm statistics),
        # which would make the workers load it again: that executor gets a copy
        copies = {label: copy.deepcopy(shipped) if label == "in this process" else shipped for label in executors}
        timed = candidates(counts[name], stream=1)
        loads_before = {label: executor.loads for label, executor in executors.items()}
        startup = {}
        for label, executor in executors.items():
            started = time.perf_counter()
            list(executor.evaluate(copies[label], candidates(2 * executor.workers, stream=2)))  # start workers, ship, warm
            startup[label] = time.perf_counter() - started
        rates = {label: [] for label in executors}
        for _ in range(repeats):
            for label, executor in executors.items():
                started = time.perf_counter()
                results = list(executor.evaluate(copies[label], timed))
                rates[label].append(len(timed) / (time.perf_counter() - started))
                assert all(r.status == "ok" for r in results), [r.status for r in results if r.status != "ok"]
        size = len(pickle.dumps(shipped, protocol=pickle.HIGHEST_PROTOCOL)) / 1e6
        for label, executor in executors.items():
            base = label.split(",")[0] + ", 1 worker"
            ratio = statistics.median(rates[label]) / statistics.median(rates[base]) if base in rates else float("nan")
            print(f"| {name} ({len(timed)} candidates) | {label} | {statistics.median(rates[label]):.2f} | "
                  f"{', '.join(f'{r:.2f}' for r in rates[label])} | {ratio:.2f} | {startup[label]:.1f} | {size:.1f} | {executor.loads - loads_before[label]} |")
    for executor in executors.values():
        executor.close()
    for cluster in clusters.values():
        cluster.close()


def run_seconds(arguments: list[str], run_dir: Path) -> tuple[float, float]:
    """Wall seconds of ``evonas evolve ARGUMENTS`` as a process, and the seconds its generations spent evaluating."""
    command = [sys.executable, "-m", "evonas", "evolve", *arguments, "--run-dir", str(run_dir), "--quiet"]
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    state = json.loads((run_dir / "generations" / (run_dir / "LATEST").read_text().strip()).read_text())
    return wall, float(state.get("evaluator_seconds", float("nan")))


def fronts_equal(a: Path, b: Path) -> bool:
    return (a / "front.csv").read_bytes() == (b / "front.csv").read_bytes()


def generation0_accuracies(run_dir: Path) -> list[str]:
    with open(run_dir / "evaluations.csv") as handle:
        rows = list(csv.DictReader(handle))
    return [row["acc"] for row in rows if row["generation"] == "0"]


def main_job(scratch: Path) -> None:
    print("| main job (`evonas evolve`, defaults) | wall s | of which evaluating s | generation 0 accuracies equal |")
    print("| --- | --- | --- | --- |")
    results = {jobs: run_seconds(["--jobs", str(jobs)], scratch / f"main-{jobs}") for jobs in (1, 2)}
    # the latency lookup table is measured anew by each run, so later generations may differ; accuracies may not
    same = generation0_accuracies(scratch / "main-1") == generation0_accuracies(scratch / "main-2")
    for jobs, (wall, evaluating) in results.items():
        print(f"| --jobs {jobs} | {wall:.1f} | {evaluating:.1f} | {'yes' if same else 'NO'} |")
    print(f"\n--jobs 2 / --jobs 1 wall time: {results[2][0] / results[1][0]:.2f}; evaluating: {results[2][1] / results[1][1]:.2f}")


def table_run(scratch: Path, repeats: int) -> None:
    arguments = ["--space", "nb201", "--evaluator", "table", "--table", str(NB201_TABLE),
                 "--objectives", "acc=cifar10_test_acc,latency=latency_fpga_ms", "--evaluations", "1000", "--seed", "0"]
    walls: dict[int, list[float]] = {1: [], 2: []}
    for repeat in range(repeats):
        for jobs in (1, 2):
            walls[jobs].append(run_seconds([*arguments, "--jobs", str(jobs)], scratch / f"table-{jobs}-{repeat}")[0])
    same = fronts_equal(scratch / "table-1-0", scratch / "table-2-0")
    print("| 1000-evaluation NB201 table run | wall s (median) | runs | same front.csv |")
    print("| --- | --- | --- | --- |")
    for jobs, values in walls.items():
        print(f"| --jobs {jobs} | {statistics.median(values):.2f} | {', '.join(f'{v:.2f}' for v in values)} | {'yes' if same else 'NO'} |")
    print(f"\n--jobs 2 / --jobs 1: {statistics.median(walls[2]) / statistics.median(walls[1]):.2f} (target: at most 2)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--supernet-candidates", type=int, default=32)
    parser.add_argument("--supernet-epochs", type=int, default=1)
    parser.add_argument("--train-candidates", type=int, default=6)
    parser.add_argument("--train-epochs", type=int, default=1)
    parser.add_argument("--main-job", action="store_true", help="also time the main job with --jobs 1 and 2 (minutes)")
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} ({os.cpu_count()} cores)\n")
    if not args.skip_throughput:
        sources = {"acc": "acc", "latency": "latency"}
        evaluators = {
            "supernet": make_evaluator("supernet", space=SPACE, sources=sources, state_dir=None, options={"epochs": args.supernet_epochs}),
            "train": make_evaluator("train", space=SPACE, sources=sources, state_dir=None, options={"epochs": args.train_epochs}),
        }
        for evaluator in evaluators.values():
            evaluator.prepare(progress=False)
        throughput(evaluators, {"supernet": args.supernet_candidates, "train": args.train_candidates}, args.repeats)
        print()
    with tempfile.TemporaryDirectory() as scratch:
        if NB201_TABLE.is_file():
            table_run(Path(scratch), args.repeats)
            print()
        if args.main_job:
            main_job(Path(scratch))
            print()
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
