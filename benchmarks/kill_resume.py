"""Kill runs with SIGKILL at random moments, resume each time, and compare with an uninterrupted run.

For each run kind (a small supernet run, a table run) the uninterrupted run is made once. Then
interrupted copies of it are started and killed again and again until ``--kills`` kills have landed
mid-run: half of the kills at a random moment (uniform over the uninterrupted run's wall time,
counted from the process's start), half inside a durable write (the process kills itself at its
k-th ``os.fsync``, k random, after cutting a temporary file to half its length: a checkpoint write
torn by the kill). After each kill the run directory is checked (every generation file against its
checksum, ``evaluations.csv`` against the newest generation's record, ``run.json``, ``front.csv``,
the supernet checkpoint) and the run resumed with ``evonas resume``. A copy that finishes is compared
with the uninterrupted run: ``front.csv`` byte for byte, ``evaluations.csv`` without its wall-clock
``seconds`` column, and the supernet's weights tensor by tensor; the next copy starts afresh.

The objectives are ``acc`` and ``params``, which repeat exactly (a latency measured anew would not).

    python benchmarks/kill_resume.py --kills 20 --seed 1
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from evonas.checkpoint import RunStore
from evonas.errors import CheckpointError

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
MACRO_TABLE = DATA / "nas-bench-macro" / "nas-bench-macro.csv"
SUPERNET_ARGS = ["--space", "macro", "--evaluator", "supernet", "--data", "digits", "--objectives", "acc,params", "--epochs", "4",
                 "--widths", "channels=4,head_channels=16", "--batch-size", "32", "--population", "8", "--generations", "4"]

# Runs the evonas command line in a process that kills itself (SIGKILL) at its KILL_AT-th os.fsync, first cutting
# the file being synced to half its length if it is a temporary (a torn checkpoint write); it counts its fsyncs
# into COUNT_TO at exit.
KILLING_CLI = """
import atexit, os, signal, sys
kill_at, count_to, calls = int(os.environ.get("KILL_AT", "0")), os.environ.get("COUNT_TO"), [0]
real_fsync = os.fsync
def fsync(fd):
    calls[0] += 1
    if calls[0] == kill_at:
        if os.readlink(f"/proc/self/fd/{fd}").endswith(".tmp"):
            os.ftruncate(fd, os.fstat(fd).st_size // 2)
        os.kill(os.getpid(), signal.SIGKILL)
    real_fsync(fd)
os.fsync = fsync
if count_to:
    atexit.register(lambda: open(count_to, "w").write(str(calls[0])))
from evonas.cli import main
main(sys.argv[1:])
"""


@dataclass
class Tally:
    """What happened to one run kind."""

    kills: int = 0
    phases: Counter = field(default_factory=Counter)
    torn_writes: int = 0
    temporaries_left: int = 0
    resumes: int = 0
    resumes_matched: int = 0
    copies: int = 0
    copies_matched: int = 0
    corrupt: list[str] = field(default_factory=list)
    finished_before_kill: int = 0
    after_the_search: int = 0
    seconds: float = 0.0


def evonas(args: list[str], *, kill_at: int = 0, count_to: Path | None = None) -> subprocess.Popen:
    env = {**os.environ, "KILL_AT": str(kill_at)}
    if count_to is not None:
        env["COUNT_TO"] = str(count_to)
    return subprocess.Popen([sys.executable, "-c", KILLING_CLI, *map(str, args)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env)


def remaining(run: Path) -> float:
    """The share of the run's generations not checkpointed yet (1 before the run exists, 0 when finished)."""
    try:
        store = RunStore.open(run)
        state = store.restore_point().state
        generations = store.read_config()["generations"]
    except CheckpointError:
        return 1.0
    return 1.0 if state is None else 1.0 - (state["generation"] + 1) / (generations + 1)


def phase(run: Path) -> str:
    """Where a run stood when it was killed, from what its directory holds."""
    if not (run / "run.json").exists():
        return "start-up"
    checkpoint = run / "evaluator" / "supernet.pt"
    if json.loads((run / "run.json").read_text())["evaluator"] == "supernet":
        if not checkpoint.exists() or not torch_load(checkpoint)["complete"]:
            return "supernet training"
    if not list((run / "generations").glob("*.json")):
        return "generation 0"
    return "search"


def corrupt_files(run: Path) -> list[str]:
    """Files of the run directory that a resume could not trust (temporaries aside)."""
    if not (run / "run.json").exists():
        return []
    bad = []
    store = RunStore.open(run)
    try:
        store.read_config()
    except CheckpointError:
        bad.append("run.json")
    names = sorted(p.name for p in (run / "generations").glob("[0-9]*.json"))
    for name in names:
        try:
            store.load_generation(name)
        except CheckpointError:
            bad.append(f"generations/{name}")
    warnings: list[str] = []
    try:
        store.restore_point(warn=warnings.append)
    except CheckpointError as error:
        warnings.append(str(error))
    if warnings and names and f"generations/{names[-1]}" not in bad:
        bad.append("evaluations.csv")
    if (run / "front.csv").exists():
        header = next(csv.reader(open(run / "front.csv")), [])
        if header[:1] != ["arch"]:
            bad.append("front.csv")
    checkpoint = run / "evaluator" / "supernet.pt"
    if checkpoint.exists():
        try:
            torch_load(checkpoint)
        except Exception:  # noqa: BLE001 - any failure to load is corruption here
            bad.append("evaluator/supernet.pt")
    return bad


def torch_load(path: Path) -> dict:
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)


def evaluations_without_seconds(run: Path) -> list[list[str]]:
    with open(run / "evaluations.csv", newline="") as handle:
        return [row[:-1] for row in csv.reader(handle)]


def same_result(run: Path, reference: Path) -> bool:
    if (run / "front.csv").read_bytes() != (reference / "front.csv").read_bytes():
        return False
    if evaluations_without_seconds(run) != evaluations_without_seconds(reference):
        return False
    weights = reference / "evaluator" / "supernet.pt"
    if weights.exists():
        import torch

        mine, theirs = torch_load(run / "evaluator" / "supernet.pt")["weights"], torch_load(weights)["weights"]
        return mine.keys() == theirs.keys() and all(torch.equal(mine[k], theirs[k]) for k in mine)
    return True


def kill_and_resume(kind: str, evolve_args: list[str], kills: int, rng: np.random.Generator, work: Path) -> Tally:
    tally = Tally()
    reference = work / f"{kind}-whole"
    count = work / f"{kind}-fsyncs"
    started = time.perf_counter()
    process = evonas(["evolve", *evolve_args, "--run-dir", reference, "--quiet"], count_to=count)
    if process.wait() != 0:
        raise SystemExit(f"the uninterrupted {kind} run failed: {process.stderr.read().decode()}")
    duration, fsyncs = time.perf_counter() - started, int(count.read_text())
    print(f"{kind}: the uninterrupted run took {duration:.1f} s and {fsyncs} fsyncs", flush=True)
    while tally.kills < kills:
        tally.copies += 1
        run = work / f"{kind}-copy{tally.copies}"
        resumes = 0
        while True:
            command = ["resume", run, "--quiet"] if (run / "run.json").exists() else ["evolve", *evolve_args, "--run-dir", run, "--quiet"]
            # kill moments are drawn over what is left of the run, so that most kills land before it ends
            left = remaining(run)
            kill = tally.kills < kills and left > 0  # a finished run (killed while plotting) is left to end
            torn = kill and rng.random() < 0.5
            if torn:
                process = evonas(command, kill_at=int(rng.integers(1, max(2, round(fsyncs * left)))))
                code = process.wait()
            else:
                process = evonas(command)
                delay = rng.uniform(0, duration * left) if kill else None
                try:
                    code = process.wait(timeout=delay)
                except subprocess.TimeoutExpired:
                    process.kill()
                    code = process.wait()
            if code == 0:
                tally.finished_before_kill += kill
                break
            if code != -9:
                raise SystemExit(f"{kind}: `evonas {' '.join(map(str, command[:1]))}` failed: {process.stderr.read().decode()}")
            if remaining(run) == 0:  # killed while plotting, after the last checkpoint: not a kill mid-run
                tally.after_the_search += 1
                continue
            tally.kills += 1
            tally.torn_writes += torn
            tally.phases[phase(run)] += 1
            tally.temporaries_left += bool(list(run.rglob(".*.tmp")))
            tally.corrupt += [f"{run.name}/{name}" for name in corrupt_files(run)]
            resumes += (run / "run.json").exists()
        tally.resumes += resumes
        matched = same_result(run, reference)
        tally.copies_matched += matched
        tally.resumes_matched += resumes if matched else 0
        if not matched:
            print(f"{kind}: {run} differs from {reference}", file=sys.stderr)
        else:
            shutil.rmtree(run)
    return tally


def print_row(kind: str, t: Tally) -> None:
    print("| run | kills mid-run | of them in a write | kills by phase | temporaries left by a kill | resumes | "
          "resumes that matched | copies matched / run | files found corrupt | kills after the search | seconds |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    phases = ", ".join(f"{name} {n}" for name, n in sorted(t.phases.items()))
    print(f"| {kind} | {t.kills} | {t.torn_writes} | {phases} | {t.temporaries_left} | {t.resumes} | {t.resumes_matched} | "
          f"{t.copies_matched} / {t.copies} | {len(t.corrupt)}{': ' + ', '.join(t.corrupt) if t.corrupt else ''} | {t.after_the_search} | "
          f"{t.seconds:.0f} |", flush=True)


def main(argv: list[str] | None = None) -> dict[str, Tally]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20, help="Kills that land mid-run, per run kind.")
    parser.add_argument("--seed", type=int, help="Seed of the kill moments [drawn at random and printed].")
    parser.add_argument("--runs", default="supernet,table", help="Run kinds: supernet, table.")
    parser.add_argument("--table", type=Path, default=MACRO_TABLE, help="Table of the table run (NAS-Bench-Macro layout).")
    parser.add_argument("--objectives", default="acc=cifar10_test_acc,params", help="Objectives of the table run.")
    parser.add_argument("--table-generations", type=int, default=30, help="Generations of the table run (population 20).")
    parser.add_argument("--workdir", type=Path, help="Where the runs go [a temporary folder, removed after].")
    args = parser.parse_args(argv)
    if "table" in args.runs.split(",") and not args.table.is_file():
        raise SystemExit(f"no table at {args.table}; give one with --table")
    seed = args.seed if args.seed is not None else int(np.random.SeedSequence().entropy % 2**32)
    print(f"seed {seed}", flush=True)
    rng = np.random.default_rng(seed)
    kinds = {
        "supernet": SUPERNET_ARGS + ["--seed", "3"],
        "table": ["--space", "macro", "--evaluator", "table", "--table", args.table, "--objectives", args.objectives,
                  "--population", "20", "--generations", str(args.table_generations), "--seed", "3"],
    }
    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        work = args.workdir or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        for kind in args.runs.split(","):
            started = time.perf_counter()
            results[kind] = kill_and_resume(kind, kinds[kind], args.kills, rng, work)
            results[kind].seconds = time.perf_counter() - started
            print_row(kind, results[kind])
    return results


if __name__ == "__main__":
    main()
