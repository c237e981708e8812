"""How well trained supernets rank architectures, per training strategy, against stand-alone training.

Samples distinct architectures with a fixed seed and trains each from scratch with two seeds (the
train evaluator): the ground truth, kept in ``--truth`` (JSON, with the command that made it) and
reused while its settings match. Then, for each strategy of ``--strategy``, trains one supernet on
the same space, data and seed for the same CPU time: SPOS for ``--supernet-epochs``, the others for
as many epochs as that CPU time buys them (their cost per epoch measured by a one-epoch probe of
each strategy, run back to back, or with ``--calibrate-from`` from the whole trainings of an earlier
run). For each supernet it prints Kendall tau against the ground truth
over all the architectures and within the top 20% by stand-alone accuracy, and runs ``--search-seeds``
searches of accuracy alone with that supernet (the strategy's seeds open generation 0); the
architecture each search returns is trained stand-alone with the two seeds if it is not among the
sampled ones, and the median of its stand-alone accuracy over the searches is reported.

    python benchmarks/supernet_ranking.py --strategy spos,greedy,eps --archs 60 --train-epochs 8 --truth benchmarks/supernet_truth.json

``--truth-only`` computes (or finishes) the ground truth and stops. Supernets and searches are kept
in ``--work-dir`` with the probes' figures; a supernet already trained there is reused, with its recorded seconds
and epochs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau, spearmanr

from evonas.checkpoint import atomic_write
from evonas.evaluators import Candidate, make_evaluator
from evonas.parallel import Parallelism
from evonas.populations.manager import SearchOptions
from evonas.search import RunConfig, Search
from evonas.spaces import get_space

TOP_SHARE = 0.2


def distinct_sample(space, n: int, seed: int) -> list:
    rng = np.random.default_rng(seed)
    chosen = {}
    while len(chosen) < n:
        genotype = space.sample(rng)
        chosen.setdefault(genotype, None)
    return list(chosen)


def candidates(space, genotypes, stream: int, first_uid: int = 0) -> list[Candidate]:
    """The architectures as candidates whose own seeds (stand-alone training's weights and batches) derive from ``stream``."""
    return [Candidate(uid, g, space.encode(g), np.random.SeedSequence(stream, spawn_key=(1, uid))) for uid, g in enumerate(genotypes, first_uid)]


def arch_uid(arch: str) -> int:
    """A uid of its own for an architecture outside the sample (so its training seeds depend on it alone)."""
    return 10**6 + int.from_bytes(hashlib.sha256(arch.encode()).digest()[:4], "big")


class GroundTruth:
    """Stand-alone accuracies with seeds ``seed`` and ``seed + 1``, kept in a JSON file after every training.

    An interrupted computation continues where it stopped; a finished one is reused while its
    settings match. Architectures outside the sample (those searches return) are added under ``extra``.
    """

    def __init__(self, args, space, genotypes) -> None:
        self.args, self.space = args, space
        settings = {"space": args.space, "data": args.data, "train_epochs": args.train_epochs, "seed": args.seed,
                    "archs": [space.encode(g) for g in genotypes]}
        cached = json.loads(args.truth.read_text()) if args.truth and args.truth.is_file() else None
        while args.truth_wait and cached and len(cached["runs"][1]) < len(genotypes):
            time.sleep(30)  # another process is still computing it
            cached = json.loads(args.truth.read_text())
        if cached and cached["settings"] != settings:
            raise SystemExit(f"{args.truth} holds a ground truth made with other settings")
        self.document = cached or {"command": " ".join(sys.argv), "settings": settings, "runs": [[], []], "seconds": []}
        self.document.setdefault("extra", {})
        self.trainer = make_evaluator("train", space=space, sources={"acc": "acc"}, state_dir=None, seed=args.seed,
                                      options={"data": args.data, "epochs": args.train_epochs})
        for run, stream in zip(self.document["runs"], (args.seed, args.seed + 1)):
            if args.partial_truth:
                break
            for evaluation in self._train(candidates(space, genotypes[len(run):], stream, first_uid=len(run))):
                run.append(evaluation.metrics["acc"])
                self.document["seconds"].append(evaluation.seconds)
                self._save()
        first, second = self.document["runs"]
        self.runs = [first[: len(second)], second]  # both seeds: all of them, unless --partial-truth stopped short
        means = [np.mean([a, *second[i : i + 1]]) for i, a in enumerate(first)]  # one seed where the second is missing
        self.mean = dict(zip(settings["archs"], means))

    def _train(self, batch: list[Candidate]):
        """Stand-alone trainings of ``batch``, ``--jobs`` at once, in order."""
        with Parallelism(jobs=self.args.jobs).open() as executor:
            yield from executor.evaluate(self.trainer, batch)

    def _save(self) -> None:
        if self.args.truth:
            atomic_write(self.args.truth, json.dumps(self.document, indent=1) + "\n")

    def add(self, archs: list[str]) -> None:
        """Trains the architectures not known yet (two seeds each, ``--jobs`` at once)."""
        new = [arch for arch in dict.fromkeys(archs) if arch not in self.mean and arch not in self.document["extra"]]
        runs = []
        for stream in (self.args.seed, self.args.seed + 1):
            batch = [Candidate(arch_uid(a), self.space.decode(a), a, np.random.SeedSequence(stream, spawn_key=(1, arch_uid(a)))) for a in new]
            runs.append([e.metrics["acc"] for e in self._train(batch)])
        for arch, a, b in zip(new, *runs):
            self.document["extra"][arch] = [a, b]
        self._save()

    def accuracy(self, arch: str) -> float:
        """The mean stand-alone accuracy of ``arch`` (`add` it first if it is not among the sample)."""
        return float(self.mean[arch] if arch in self.mean else np.mean(self.document["extra"][arch]))


def supernet_options(args, strategy: str, epochs: int) -> dict:
    return {"data": args.data, "epochs": epochs, "strategy": strategy, **json.loads(args.supernet_options)}


def probe_seconds_per_epoch(args, space, strategy: str) -> float:
    """CPU seconds of one epoch of ``strategy``'s training (a throw-away one-epoch supernet)."""
    probe = make_evaluator("supernet", space=space, sources={"acc": "acc"}, state_dir=None, seed=args.seed,
                           options=supernet_options(args, strategy, 1))
    started = time.process_time()
    probe.prepare(progress=False)
    return time.process_time() - started


def train_supernet(args, space, strategy: str, epochs: int) -> tuple[object, dict]:
    """The strategy's supernet in ``work_dir/strategy`` (trained there unless it already is) and its seconds."""
    folder = args.work_dir / strategy
    record = folder / "seconds.json"
    evaluator = make_evaluator("supernet", space=space, sources={"acc": "acc"}, state_dir=folder, seed=args.seed,
                               options=supernet_options(args, strategy, epochs))
    wall, cpu = time.perf_counter(), time.process_time()
    evaluator.prepare(progress=False)
    if not record.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        record.write_text(json.dumps({"cpu": time.process_time() - cpu, "wall": time.perf_counter() - wall, "epochs": epochs}))
    return evaluator, json.loads(record.read_text())


def search_best(args, strategy: str, search_seed: int) -> str:
    """The most accurate architecture a search of accuracy alone finds with the strategy's supernet."""
    run_dir = args.work_dir / f"{strategy}-search{search_seed}"
    if (run_dir / "front.csv").is_file():
        search = Search.resume(run_dir)
    else:
        config = RunConfig(space=args.space, evaluator="supernet", objectives=("acc",), seed=search_seed,
                           evaluator_options={"supernet": str(args.work_dir / strategy)},
                           search=SearchOptions(population=args.search_population), generations=args.search_generations)
        search = Search.start(config, run_dir)
    if not search.finished:
        search.run(progress=False)
    best = max(search.front(), key=lambda individual: (individual.metrics["acc"], -individual.uid))
    return best.arch


def top_tau(inherited: list[float], truth: list[float]) -> float:
    """Kendall tau within the architectures in the top ``TOP_SHARE`` by stand-alone accuracy."""
    top = np.argsort(truth)[::-1][: max(2, round(TOP_SHARE * len(truth)))]
    return kendalltau([inherited[i] for i in top], [truth[i] for i in top])[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", default="macro")
    parser.add_argument("--data", default="cluttered-digits")
    parser.add_argument("--archs", type=int, default=30)
    parser.add_argument("--sample-seed", type=int, default=2026)
    parser.add_argument("--strategy", default="spos", help="comma list of training strategies to compare")
    parser.add_argument("--supernet-epochs", type=int, default=60, help="SPOS's epochs; the others get the same CPU time")
    parser.add_argument("--train-epochs", type=int, default=10)
    parser.add_argument("--supernet-options", default="{}", help="more supernet evaluator options as JSON")
    parser.add_argument("--jobs", type=int, default=1, help="stand-alone trainings at once")
    parser.add_argument("--seed", type=int, default=0, help="the run seed (data split, supernet)")
    parser.add_argument("--search-seeds", default="0,1,2")
    parser.add_argument("--search-population", type=int, default=16)
    parser.add_argument("--search-generations", type=int, default=9)
    parser.add_argument("--truth", type=Path, help="JSON file keeping the stand-alone accuracies (written as they come)")
    parser.add_argument("--truth-only", action="store_true", help="compute (or finish) the ground truth and stop")
    parser.add_argument("--truth-wait", action="store_true", help="wait while another process finishes the ground truth")
    parser.add_argument("--partial-truth", action="store_true",
                        help="judge against the ground truth as it stands (the mean of the seeds trained so far), training nothing for it")
    parser.add_argument("--no-truth", action="store_true", help="train the supernets and run the searches only (to spread them over processes)")
    parser.add_argument("--work-dir", type=Path, default=Path("checkpoints/supernet_ranking"))
    parser.add_argument("--calibrate-from", type=Path,
                        help="an earlier work directory: each strategy's CPU seconds per epoch over its whole training there "
                             "replace the one-epoch probes (a probe misses costs that change over training)")
    args = parser.parse_args()

    space = get_space(args.space)
    genotypes = distinct_sample(space, args.archs, args.sample_seed)
    strategies = [] if args.truth_only else args.strategy.split(",")
    # The supernets and searches first: they need no ground truth (so it may still be computed elsewhere).
    probes = args.work_dir / "probes.json"  # CPU seconds per epoch of each strategy, measured once
    per_epoch = json.loads(probes.read_text()) if probes.is_file() else {}
    if args.calibrate_from and not probes.is_file():  # per-epoch costs of whole trainings, instead of one-epoch probes
        for strategy in ["spos", *strategies]:
            record = json.loads((args.calibrate_from / strategy / "seconds.json").read_text())
            per_epoch[strategy] = record["cpu"] / record["epochs"]
        args.work_dir.mkdir(parents=True, exist_ok=True)
        probes.write_text(json.dumps(per_epoch))
    untrained = [s for s in strategies if not (args.work_dir / s / "seconds.json").is_file()]
    for strategy in dict.fromkeys(["spos", *untrained] if untrained else []):
        if strategy not in per_epoch:
            per_epoch[strategy] = probe_seconds_per_epoch(args, space, strategy)
            args.work_dir.mkdir(parents=True, exist_ok=True)
            probes.write_text(json.dumps(per_epoch))
    budget = per_epoch.get("spos", 0.0) * args.supernet_epochs
    measured = []
    for strategy in strategies:
        trained = args.work_dir / strategy / "seconds.json"
        epochs = json.loads(trained.read_text())["epochs"] if trained.is_file() else max(1, round(budget / per_epoch[strategy]))
        evaluator, seconds = train_supernet(args, space, strategy, epochs)
        kept = args.work_dir / strategy / "inherited.json"  # accuracies with inherited weights, measured once
        if not kept.is_file():
            started = time.perf_counter()
            inherited = [e.metrics["acc"] for e in evaluator.evaluate(candidates(space, genotypes, args.seed))]
            kept.write_text(json.dumps({"acc": inherited, "per_candidate": (time.perf_counter() - started) / len(genotypes)}))
        inherited = json.loads(kept.read_text())["acc"]
        seconds = {**seconds, "per_candidate": json.loads(kept.read_text())["per_candidate"]}
        returned = [search_best(args, strategy, int(s)) for s in args.search_seeds.split(",")]
        measured.append((strategy, seconds, inherited, returned))
        print(f"{strategy}: {seconds}, returned {returned}", flush=True)
    if args.no_truth:
        return

    truth = GroundTruth(args, space, genotypes)
    if args.partial_truth:  # the architectures trained with at least the first seed so far
        measured = [(strategy, seconds, inherited[: len(truth.mean)], returned) for strategy, seconds, inherited, returned in measured]
        genotypes = genotypes[: len(truth.mean)]
        print(f"partial ground truth: {len(truth.runs[1])} of {len(genotypes)} architectures with both seeds, the rest with the first only")
    mean = [truth.mean[space.encode(g)] for g in genotypes]
    print(f"space {args.space}, data {args.data}, {len(genotypes)} architectures (sample seed {args.sample_seed}); "
          f"stand-alone: {args.train_epochs} epochs, seeds {args.seed} and {args.seed + 1}")
    print(f"ground truth: accuracy {min(mean):.1f} - {max(mean):.1f} %, seed-to-seed Kendall tau {kendalltau(*truth.runs)[0]:.3f} "
          f"(top 20%: {top_tau(truth.runs[0], truth.runs[1]):.3f}), Spearman {spearmanr(*truth.runs)[0]:.3f}, "
          f"mean seed-to-seed difference {np.mean(np.abs(np.subtract(*truth.runs))):.2f} points, "
          f"{np.mean(truth.document['seconds']):.1f} s per training")
    if args.truth_only:
        return
    truth.add([arch for *_, returned in measured for arch in returned])
    rows = []
    for strategy, seconds, inherited, returned in measured:
        accuracies = [truth.accuracy(arch) for arch in returned]
        rows.append((strategy, seconds, kendalltau(inherited, mean)[0], spearmanr(inherited, mean)[0], top_tau(inherited, mean), returned, accuracies))

    costs = f"per-epoch costs of the trainings in {args.calibrate_from}" if args.calibrate_from else "one-epoch probes"
    print(f"\nequal supernet training CPU time (SPOS {args.supernet_epochs} epochs; the others' epochs from {costs}); "
          f"searches: accuracy alone, population {args.search_population}, {args.search_generations} generations, seeds {args.search_seeds}")
    print("| strategy | epochs | training CPU s / wall s | inherited-weight s per candidate | Kendall tau / Spearman, all "
          "| Kendall tau, top 20% | returned architectures (stand-alone %) | median stand-alone % of the returned |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for strategy, seconds, tau, rho, tau_top, returned, accuracies in rows:
        found = ", ".join(f"{arch} ({acc:.1f})" for arch, acc in zip(returned, accuracies))
        print(f"| {strategy} | {seconds['epochs']} | {seconds['cpu']:.0f} / {seconds['wall']:.0f} | {seconds['per_candidate']:.2f} "
              f"| {tau:.3f} / {rho:.3f} | {tau_top:.3f} "
              f"| {found} | {np.median(accuracies):.1f} |")
    best = max(mean)
    print(f"\nbest of the {len(genotypes)} sampled architectures: {best:.1f} %")


if __name__ == "__main__":
    main()
