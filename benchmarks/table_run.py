"""Cost of a 1000-evaluation table run: wall time, and the share spent outside the evaluator.

Runs the issue's two commands (NB201 accuracy x FPGA latency, NAS-Bench-Macro accuracy x params) as
whole processes (what a user waits for, imports included) and in-process (the search alone, split into
evaluator time and everything else: selection, variation, sorting, logging, checkpoints).

    python benchmarks/table_run.py --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from evonas.populations.manager import SearchOptions
from evonas.search import RunConfig, Search

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CASES = {
    "nb201 acc x fpga latency": ("nb201", DATA / "nb201" / "nb201.csv", "acc=cifar10_test_acc,latency=latency_fpga_ms"),
    "macro acc x params": ("macro", DATA / "nas-bench-macro" / "nas-bench-macro.csv", "acc=cifar10_test_acc,params"),
}


def cli_seconds(space: str, table: Path, objectives: str, run_dir: Path) -> float:
    command = [sys.executable, "-m", "evonas", "evolve", "--space", space, "--evaluator", "table", "--table", str(table),
               "--objectives", objectives, "--evaluations", "1000", "--population", "50", "--seed", "0",
               "--run-dir", str(run_dir), "--quiet"]
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def in_process(space: str, table: Path, objectives: str, run_dir: Path) -> tuple[float, float, float]:
    """Seconds to load the table (evaluator set-up), to search, and inside ``evaluate`` while searching."""
    config = RunConfig(space=space, evaluator="table", evaluator_options={"table": str(table)},
                       objectives=tuple(objectives.split(",")), search=SearchOptions(population=50), evaluations=1000, seed=0)
    started = time.perf_counter()
    search = Search.start(config, run_dir)
    loaded = time.perf_counter()
    search.run()
    return loaded - started, time.perf_counter() - loaded, search.evaluator_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print("| run (1000 evaluations, population 50) | process wall s | table load s | search s | in evaluator s | search outside evaluator |")
    print("| --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as scratch:
        for label, (space, table, objectives) in CASES.items():
            if not table.is_file():
                print(f"| {label} | skipped: {table} not found | | | | |")
                continue
            walls, loads, searches, inside = [], [], [], []
            for i in range(args.repeats):
                walls.append(cli_seconds(space, table, objectives, Path(scratch) / f"{label}-cli-{i}"))
                load, search, evaluator = in_process(space, table, objectives, Path(scratch) / f"{label}-lib-{i}")
                loads.append(load)
                searches.append(search)
                inside.append(evaluator)
            search, evaluator = statistics.median(searches), statistics.median(inside)
            print(f"| {label} | {statistics.median(walls):.2f} | {statistics.median(loads):.3f} | {search:.3f} | "
                  f"{evaluator:.4f} | {(search - evaluator) / search:.1%} |")


if __name__ == "__main__":
    main()
