"""Read a run directory with pandas: the configuration, every evaluation, the front.

A run directory is plain data (JSON and CSV; see the README's "The run directory"), so any tool reads it:
``run.json`` holds the configuration, ``evaluations.csv`` one row per evaluated architecture (generation,
uid, arch, parents, operator, status, one column per metric, seconds), ``front.csv`` the Pareto front.

    python examples/read_run.py checkpoints/nb201-fpga    # any run, from the CLI or the Python API
    python examples/read_run.py --small                   # makes a small run (if there is none), then reads it
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

import evonas


def small_run(run_dir: Path) -> Path:
    """A quick search of a made-up space with a made-up evaluation, to have something to read."""
    space = evonas.Space(name="read-run-demo", genes={"depth": [1, 2, 3, 4], "width": [8, 16, 32, 64]})

    def score(genotype, context):
        c = context.chosen
        return {"acc": 60 + 8 * c["depth"] + c["width"] / 4 + context.rng.normal(), "params": c["depth"] * c["width"] ** 2}

    return evonas.evolve(space=space, evaluator=score, objectives=["acc", "params"], population=4, evaluations=12,
                         run_dir=run_dir).run_dir


def summarise(run_dir: Path) -> None:
    config = json.loads((run_dir / "run.json").read_text())
    evaluations = pd.read_csv(run_dir / "evaluations.csv")
    front = pd.read_csv(run_dir / "front.csv")
    objectives = [spec.split("=")[0] for spec in config["objectives"]]
    print(f"run {run_dir.name}: space {config['space']}, evaluator {config['evaluator']}, seed {config['seed']}, "
          f"objectives {', '.join(config['objectives'])}")
    ok = evaluations[evaluations["status"] == "ok"]
    print(f"{len(evaluations)} evaluations, {len(evaluations) - len(ok)} failed, in {evaluations['generation'].nunique()} generations")
    per_generation = ok.groupby("generation")[objectives].agg(["min", "max"])
    print("per generation:")
    print(per_generation.to_string())
    print("made by:", ", ".join(f"{op} {n}" for op, n in evaluations["operator"].value_counts().items()))
    print(f"front ({len(front)} architectures):")
    print(front.to_string(index=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, nargs="?", help="a run directory")
    parser.add_argument("--small", action="store_true", help="make a small run to read (CI)")
    args = parser.parse_args()
    if args.run_dir is None and not args.small:
        parser.error("give a run directory, or --small")
    run_dir = args.run_dir or Path("checkpoints/read-run-demo")
    if args.small and not (run_dir / "run.json").exists():
        small_run(run_dir)
    summarise(run_dir)


if __name__ == "__main__":
    main()
