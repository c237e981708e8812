"""How well a trained supernet ranks architectures: Kendall tau and Spearman against stand-alone training.

Samples distinct architectures with a fixed seed, measures each with inherited weights (the supernet
evaluator) and by training it from scratch twice with two seeds (the train evaluator), and prints:
the ground truth's own seed-to-seed agreement, the supernet's agreement with the ground truth (the
mean of the two trainings), and the seconds per candidate of each.

    python benchmarks/supernet_ranking.py --space macro --archs 30 --supernet-epochs 60 --train-epochs 10

``--truth FILE`` keeps the stand-alone accuracies (JSON) and reuses them when the settings match, so
supernet variants can be compared against the same ground truth without training it again.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau, spearmanr

from evonas.evaluators import Candidate, make_evaluator
from evonas.parallel import Parallelism
from evonas.spaces import get_space


def distinct_sample(space, n: int, seed: int) -> list:
    rng = np.random.default_rng(seed)
    chosen = {}
    while len(chosen) < n:
        genotype = space.sample(rng)
        chosen.setdefault(genotype, None)
    return list(chosen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="macro")
    parser.add_argument("--data", default="cluttered-digits")
    parser.add_argument("--archs", type=int, default=30)
    parser.add_argument("--sample-seed", type=int, default=2026)
    parser.add_argument("--supernet-epochs", type=int, default=60)
    parser.add_argument("--train-epochs", type=int, default=10)
    parser.add_argument("--supernet-options", default="{}", help="more supernet evaluator options as JSON")
    parser.add_argument("--jobs", type=int, default=1, help="stand-alone trainings at once")
    parser.add_argument("--seed", type=int, default=0, help="the run seed (data split, supernet)")
    parser.add_argument("--truth", type=Path, help="JSON file caching the stand-alone accuracies")
    args = parser.parse_args()

    space = get_space(args.space)
    genotypes = distinct_sample(space, args.archs, args.sample_seed)
    sources = {"acc": "acc"}
    supernet = make_evaluator("supernet", space=space, sources=sources, state_dir=None, seed=args.seed,
                              options={"data": args.data, "epochs": args.supernet_epochs, **json.loads(args.supernet_options)})
    started = time.perf_counter()
    supernet.prepare(progress=False)
    training_seconds = time.perf_counter() - started

    def candidates(stream: int) -> list[Candidate]:
        return [Candidate(uid, g, space.encode(g), np.random.SeedSequence(stream, spawn_key=(1, uid))) for uid, g in enumerate(genotypes)]

    started = time.perf_counter()
    inherited = [e.metrics["acc"] for e in supernet.evaluate(candidates(args.seed))]
    inherited_seconds = (time.perf_counter() - started) / len(genotypes)

    settings = {"space": args.space, "data": args.data, "train_epochs": args.train_epochs, "seed": args.seed,
                "archs": [space.encode(g) for g in genotypes]}
    cached = json.loads(args.truth.read_text()) if args.truth and args.truth.is_file() else None
    if cached and cached["settings"] == settings:
        runs, train_seconds = cached["runs"], cached["seconds"]
    else:
        trainer = make_evaluator("train", space=space, sources=sources, state_dir=None, seed=args.seed,
                                 options={"data": args.data, "epochs": args.train_epochs})
        runs, train_seconds = [], []
        with Parallelism(jobs=args.jobs).open() as executor:
            for stream in (args.seed, args.seed + 1):
                evaluations = list(executor.evaluate(trainer, candidates(stream)))
                runs.append([e.metrics["acc"] for e in evaluations])
                train_seconds.extend(e.seconds for e in evaluations)
        if args.truth:
            args.truth.write_text(json.dumps({"settings": settings, "runs": runs, "seconds": train_seconds}))
    truth = np.mean(runs, axis=0)

    print(f"space {args.space}, data {args.data}, {len(genotypes)} architectures (sample seed {args.sample_seed})")
    print(f"supernet: {args.supernet_epochs} epochs in {training_seconds:.0f} s; stand-alone: {args.train_epochs} epochs, seeds {args.seed} and {args.seed + 1}")
    print("| arch | supernet acc | stand-alone acc (seed a) | (seed b) |")
    print("| --- | --- | --- | --- |")
    for genotype, a, b, c in zip(genotypes, inherited, *runs):
        print(f"| {space.encode(genotype)} | {a:.1f} | {b:.1f} | {c:.1f} |")
    print()
    print("| measure | value |")
    print("| --- | --- |")
    print(f"| stand-alone accuracy range (mean of seeds) | {truth.min():.1f} - {truth.max():.1f} % |")
    print(f"| ground truth seed-to-seed Kendall tau / Spearman | {kendalltau(*runs)[0]:.3f} / {spearmanr(*runs)[0]:.3f} |")
    print(f"| mean seed-to-seed difference | {np.mean(np.abs(np.subtract(*runs))):.2f} points |")
    print(f"| supernet vs ground truth Kendall tau / Spearman | {kendalltau(inherited, truth)[0]:.3f} / {spearmanr(inherited, truth)[0]:.3f} |")
    print(f"| supernet vs seed a / seed b Kendall tau | {kendalltau(inherited, runs[0])[0]:.3f} / {kendalltau(inherited, runs[1])[0]:.3f} |")
    print(f"| seconds per candidate: inherited-weight evaluation | {inherited_seconds:.3f} |")
    print(f"| seconds per candidate: stand-alone training | {np.mean(train_seconds):.1f} |")
    print(f"| stand-alone / inherited cost ratio | {np.mean(train_seconds) / inherited_seconds:.0f}x |")
    print(f"| supernet training, amortised over these {len(genotypes)} candidates | {training_seconds / len(genotypes):.2f} s |")


if __name__ == "__main__":
    main()
