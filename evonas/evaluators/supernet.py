"""The supernet evaluator: train one weight-sharing network once, then measure every candidate with its weights.

Training (``prepare``) follows a plug-in `TrainingStrategy` (``spos`` by default) and is checkpointed in
the run's ``evaluator/`` folder: weights, optimiser, schedule, the path sampler's random state and
the strategy's state, written atomically at every epoch's end and every `CHECKPOINT_SECONDS`, so a
run killed mid-training resumes at the last checkpoint and ends exactly as if never interrupted. A
trained supernet serves later searches (``supernet=RUN_DIR``) without training again.

Strategies that score paths during training (GreedyNAS, EPS) score them on a fixed slice of the
training split (``scoring_images``, drawn once from the seed) that the supernet never trains on.
Paths outside the run's constraints on network metrics (params, FLOPs, latency) are never trained;
constraints on accuracy cannot be known before training and are left to the search.

A candidate is measured like SPOS does: the path's BatchNorm statistics are recomputed on a fixed
set of training batches (the same for every candidate), then its accuracy on the validation split
is taken. Nothing is drawn while evaluating, so a candidate's accuracy depends only on the run's
seed and its architecture (``Candidate.seed`` is not needed).

Random streams (children of the run's seed): path sampling ``(3, 0)``, batch order of epoch ``e``
``(3, 1, e)``, initial weights ``(3, 2)``, the calibration batches and the scoring set ``(3, 3)``.
"""

from __future__ import annotations

import dataclasses
import io
import json
import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from evonas.checkpoint import atomic_write
from evonas.data import data_input, load_dataset
from evonas.errors import CheckpointError, ConfigError
from evonas.evaluators.base import Candidate, Evaluation, Evaluator
from evonas.evaluators.strategies import DEFAULT_STRATEGY, TrainingStep, make_strategy
from evonas.genotype import Genotype
from evonas.measure.meter import NETWORK_METRICS, NetworkMeter, network_options
from evonas.spaces.base import SearchSpace
from evonas.streams import supernet_seed
from evonas.training import (
    TrainingOptions,
    accuracy,
    epoch_batches,
    recalibrate_batchnorm,
    torch_seed,
    train_step,
    use_threads,
)

CHECKPOINT_FILE = "supernet.pt"
CHECKPOINT_FORMAT = 1
CHECKPOINT_SECONDS = 20.0
ACCURACY_METRICS = ("acc", "accuracy")
DEFAULT_DATA = "cluttered-digits"
DEFAULT_EPOCHS = 60
# Widths for a CPU: a few seconds per supernet epoch on cluttered digits (see benchmarks/RESULTS.md).
DEFAULT_WIDTHS = {
    "nb201": {"channels": 8, "cells_per_stage": 1},
    "macro": {"channels": 8, "head_channels": 64},
    "mobile": {"channels": 8, "head_channels": 64},
}


def check_metrics(evaluator: str, sources: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """Splits the sources into accuracy metrics and network metrics; any other is a `ConfigError`."""
    unknown = [s for s in sources.values() if s not in ACCURACY_METRICS + NETWORK_METRICS]
    if unknown:
        known = ", ".join(ACCURACY_METRICS + NETWORK_METRICS)
        raise ConfigError(f"the {evaluator} evaluator cannot measure {', '.join(map(repr, unknown))}; it measures {known}")
    network = [s for s in dict.fromkeys(sources.values()) if s in NETWORK_METRICS]
    return [n for n, s in sources.items() if s in ACCURACY_METRICS], network


def save_tensors(path: Path, payload: dict[str, Any]) -> None:
    """``torch.save`` written atomically (temporary file, fsync, rename)."""
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    atomic_write(path, buffer.getvalue())


def load_tensors(path: Path) -> dict[str, Any]:
    """Tensors and plain data only: ``weights_only=True`` refuses anything that would run code."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several kinds for a truncated or foreign file
        raise CheckpointError(f"{path} is not a readable supernet checkpoint: {error}") from None


class SupernetEvaluator(Evaluator):
    """Accuracy with weights inherited from a trained supernet, plus size and latency of the built network.

    Args:
        data: "cluttered-digits" (default), "digits", a ``.npz`` file or a folder of class folders.
        strategy: registered training strategy (`evonas.evaluators.strategies.STRATEGIES`: spos, greedy, eps).
        strategy_options: the strategy's own options (e.g. ``{"pool": 50}`` for greedy).
        scoring_images: training images held out as the scoring set of a strategy that scores paths.
        epochs, batch_size, optimizer, lr, momentum, weight_decay, schedule: supernet training
            (see `TrainingOptions`); weight decay 4e-5 as in SPOS, which ranks better here than the
            5e-4 of stand-alone training (benchmarks/RESULTS.md).
        calibration_batches: training batches that recompute a candidate's BatchNorm statistics.
        widths: width options of the space's network, over `DEFAULT_WIDTHS`.
        supernet: a run directory whose trained supernet to use instead of training one.
        threads: torch's thread count for this process (set on construction). One by default:
            these small networks gain nothing from more, and on a busy machine several threads
            that wait for each other make training many times slower. Results repeat exactly only
            with the same count.
    """

    name = "supernet"
    description = "weight-sharing supernet (SPOS, GreedyNAS, EPS): train once, evaluate candidates with inherited weights"

    def __init__(
        self,
        *,
        space: SearchSpace,
        sources: Mapping[str, str],
        state_dir: Path | None = None,
        seed: int = 0,
        data: str = DEFAULT_DATA,
        strategy: str = DEFAULT_STRATEGY,
        strategy_options: Mapping[str, Any] | None = None,
        scoring_images: int = 128,
        epochs: int = DEFAULT_EPOCHS,
        batch_size: int = 64,
        optimizer: str = "sgd",
        lr: float = 0.1,
        momentum: float = 0.9,
        weight_decay: float = 4e-5,
        schedule: str = "cosine",
        calibration_batches: int = 8,
        widths: Mapping[str, int] | None = None,
        supernet: str | None = None,
        threads: int = 1,
    ) -> None:
        super().__init__(space=space, sources=sources, state_dir=state_dir, seed=seed)
        use_threads(threads)
        self.threads = threads
        self.accuracy_names, network_metrics = check_metrics(self.name, self.sources)
        self.training = TrainingOptions(
            epochs=epochs, batch_size=batch_size, optimizer=optimizer, lr=lr, momentum=momentum,
            weight_decay=weight_decay, schedule=schedule,
        )
        if calibration_batches < 1:
            raise ConfigError(f"--calibration-batches must be at least 1, got {calibration_batches}")
        # A reused supernet is copied into the run; resuming the run reads the copy.
        own_copy = state_dir / CHECKPOINT_FILE if state_dir else None
        self.reused_from = (state_dir if own_copy and own_copy.is_file() else Path(supernet)) if supernet else None
        self.reused = self._reused_checkpoint(self.reused_from) if self.reused_from else None
        reused_meta = json.loads(self.reused["meta"]) if self.reused else None
        if reused_meta and reused_meta["space"] != space.name:
            raise ConfigError(f"the supernet in {supernet} is of space {reused_meta['space']!r}, not {space.name!r}")
        # A reused supernet fixes the data and its split (its validation images stay unseen by it), and
        # its strategy, whose final state (a candidate pool, a proxy population) seeds the search.
        if reused_meta:
            strategy, strategy_options = reused_meta["strategy"], reused_meta.get("strategy_options", {})
            scoring_images = reused_meta.get("scoring_images", scoring_images)
        self.strategy_name = strategy
        self.strategy = make_strategy(strategy, space, strategy_options, admissible=self._admissible)
        if self.strategy.scores_paths and scoring_images < 1:
            raise ConfigError(f"--scoring-images must be at least 1 for strategy {strategy!r}, got {scoring_images}")
        self.scoring_images = scoring_images if self.strategy.scores_paths else 0
        self.data_source = reused_meta["data"] if reused_meta else data
        self.data_seed = reused_meta["seed"] if reused_meta else seed
        self.data = load_dataset(self.data_source, seed=self.data_seed)
        shape = {"num_classes": self.data.num_classes, "in_channels": self.data.in_channels, "image_size": self.data.image_size}
        widths_given = reused_meta["widths"] if reused_meta else widths
        self.build_options = {**shape, **network_options(space, widths_given, DEFAULT_WIDTHS)}
        self.meter = NetworkMeter(space, self.build_options, network_metrics, state_dir)
        generator = torch.Generator().manual_seed(torch_seed(supernet_seed(self.data_seed, 2)))
        self.supernet = space.build_supernet(**self.build_options, generator=generator)
        # One fixed permutation of the training split: the scoring set is its end, the calibration
        # batches its start (so the two never meet); without a scoring set, nothing is held out.
        n = len(self.data.x_train)
        if self.scoring_images >= n:
            raise ConfigError(f"--scoring-images {self.scoring_images} leaves none of the {n} training images to train on")
        order = torch.randperm(n, generator=torch.Generator().manual_seed(torch_seed(supernet_seed(self.data_seed, 3))))
        held_out = order[n - self.scoring_images :]
        self.calibration = [self.data.x_train[b] for b in order[: n - self.scoring_images].split(batch_size)[:calibration_batches]]
        kept = torch.ones(n, dtype=torch.bool)
        kept[held_out] = False
        self.x_train, self.y_train = self.data.x_train[kept], self.data.y_train[kept]
        self.scoring = (self.data.x_train[held_out], self.data.y_train[held_out])
        self._limits_meter: NetworkMeter | None = None  # the constrained metrics, for `_admissible`
        self._measured: dict[Genotype, dict[str, float]] = {}
        self.trained = False

    # -- the checkpoint ----------------------------------------------------------------------
    def _meta(self) -> dict[str, Any]:
        """What a checkpoint must match to be resumed or reused."""
        widths = {k: v for k, v in self.build_options.items() if k not in ("num_classes", "in_channels", "image_size")}
        meta = {"space": self.space.name, "widths": widths, "data": self.data_source, "seed": self.data_seed,
                "strategy": self.strategy_name, "training": dataclasses.asdict(self.training)}
        if self.strategy.options():  # absent for SPOS, as in checkpoints written before strategies had options
            meta["strategy_options"] = self.strategy.options()
        if self.scoring_images:
            meta["scoring_images"] = self.scoring_images
        return meta

    @staticmethod
    def _reused_checkpoint(run_dir: Path) -> dict[str, Any]:
        path = next((p for p in (run_dir / "evaluator" / CHECKPOINT_FILE, run_dir / CHECKPOINT_FILE) if p.is_file()), None)
        if path is None:
            raise ConfigError(f"--supernet {run_dir}: no trained supernet there (no evaluator/{CHECKPOINT_FILE})")
        checkpoint = load_tensors(path)
        if not checkpoint.get("complete"):
            raise ConfigError(f"--supernet {run_dir}: its training is unfinished; finish it with `evonas resume {run_dir}`")
        return checkpoint

    @property
    def checkpoint_path(self) -> Path | None:
        return self.state_dir / CHECKPOINT_FILE if self.state_dir else None

    def _save(self, step: int, complete: bool, optimizer, scheduler, rng: np.random.Generator) -> None:
        if self.checkpoint_path is None:
            return
        self.state_dir.mkdir(parents=True, exist_ok=True)
        save_tensors(
            self.checkpoint_path,
            {
                "format": CHECKPOINT_FORMAT,
                "meta": json.dumps(self._meta(), sort_keys=True),
                "step": step,
                "complete": complete,
                "weights": self.supernet.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "sampler": json.dumps({"rng": rng.bit_generator.state, "strategy": self.strategy.state()}),
            },
        )

    def _load(self, checkpoint: dict[str, Any], source: Path) -> None:
        if checkpoint.get("format") != CHECKPOINT_FORMAT:
            raise CheckpointError(f"{source} has checkpoint format {checkpoint.get('format')!r}; this evonas reads {CHECKPOINT_FORMAT}")
        self.supernet.load_state_dict(checkpoint["weights"])

    # -- training ----------------------------------------------------------------------------
    def prepare(self, *, progress: bool = True) -> None:
        """Trains the supernet (or resumes its training, or takes a reused one), then the latency table."""
        if not self.trained:
            if self.reused is not None:
                self._take_reused()
            else:
                self._train(progress)
            self.trained = True
        self.meter.prepare(progress=progress)

    def inputs(self) -> dict[str, Path | str]:
        return {"data": data_input(self.data_source)}

    def _take_reused(self) -> None:
        self._load(self.reused, self.reused_from)
        self.strategy.restore(json.loads(self.reused["sampler"])["strategy"])
        own = self.checkpoint_path
        if own is not None and not own.is_file():
            self.state_dir.mkdir(parents=True, exist_ok=True)
            save_tensors(own, self.reused)
        self.reused = None  # loaded: the checkpoint (optimiser state and all) need not travel to workers

    def _train(self, progress: bool) -> None:
        from tqdm.auto import tqdm

        x, y = self.x_train, self.y_train
        steps_per_epoch = self.training.steps_per_epoch(len(x))
        total = self.training.epochs * steps_per_epoch
        optimizer = self.training.optimizer_for(list(self.supernet.parameters()))
        scheduler = self.training.scheduler_for(optimizer, total)
        rng = np.random.default_rng(supernet_seed(self.data_seed, 0))
        step = 0
        path = self.checkpoint_path
        if path is not None and path.is_file():
            checkpoint = load_tensors(path)
            if json.loads(checkpoint.get("meta", "{}")) != self._meta():
                raise CheckpointError(f"{path} belongs to a supernet trained otherwise than this run asks")
            self._load(checkpoint, path)
            sampler = json.loads(checkpoint["sampler"])
            self.strategy.restore(sampler["strategy"])
            if checkpoint["complete"]:
                return
            optimizer.load_state_dict(checkpoint["optimizer"])
            scheduler.load_state_dict(checkpoint["scheduler"])
            rng.bit_generator.state = sampler["rng"]
            step = int(checkpoint["step"])
        bar = tqdm(total=total, initial=step, unit="step", desc="supernet", disable=not progress, dynamic_ncols=True, leave=False)
        saved_at = time.monotonic()
        self.supernet.train()
        while step < total:
            epoch, offset = divmod(step, steps_per_epoch)
            order = epoch_batches(len(x), self.training.batch_size, torch.Generator().manual_seed(torch_seed(supernet_seed(self.data_seed, 1, epoch))))
            losses, accuracies = [], []
            for batch in order[offset:]:
                paths = self.strategy.paths(TrainingStep(step, total, self._score), rng)
                optimizer.zero_grad(set_to_none=True)
                for genotype in paths:
                    if not self._admissible(genotype):
                        raise ConfigError(f"strategy {self.strategy_name!r} chose {self.space.encode(genotype)}, outside the constraints")
                    self.supernet.select(genotype)
                    loss, acc = train_step(self.supernet, x[batch], y[batch], scale=1.0 / len(paths))
                    losses.append(loss)
                    accuracies.append(acc)
                optimizer.step()
                scheduler.step()
                step += 1
                bar.update(1)
                bar.set_postfix(epoch=epoch + 1, loss=f"{np.mean(losses):.3f}", acc=f"{np.mean(accuracies):.1f}", refresh=False)
                if time.monotonic() - saved_at > CHECKPOINT_SECONDS and step < total:
                    self._save(step, False, optimizer, scheduler, rng)
                    saved_at = time.monotonic()
            self._save(step, step >= total, optimizer, scheduler, rng)
            saved_at = time.monotonic()
        if total == 0:
            self._save(0, True, optimizer, scheduler, rng)
        bar.close()

    @torch.no_grad()
    def _score(self, genotype: Genotype) -> float:
        """Minus the mean cross-entropy of a path on the scoring set, current weights (for strategies).

        BatchNorm normalises with the scoring set's own statistics (the supernet's running ones mix
        all paths) and leaves the running statistics as they are."""
        self.supernet.select(genotype)
        norms = [m for m in self.supernet.modules() if isinstance(m, torch.nn.BatchNorm2d)]
        momenta = [m.momentum for m in norms]
        for m in norms:
            m.momentum = 0.0
        loss = torch.nn.functional.cross_entropy(self.supernet(self.scoring[0]), self.scoring[1])
        for m, momentum in zip(norms, momenta):
            m.momentum = momentum
        return -float(loss)

    def _admissible(self, genotype: Genotype) -> bool:
        """Whether ``genotype`` satisfies the run's constraints on network metrics (measured once per path,
        only the constrained metrics: a latency limit needs the lookup table alone, no network built)."""
        limits = [c for c in self.constraints if self.sources.get(c.metric) in NETWORK_METRICS]
        if not limits:
            return True
        if self._limits_meter is None:
            metrics = list(dict.fromkeys(self.sources[c.metric] for c in limits))
            self._limits_meter = NetworkMeter(self.space, self.build_options, metrics, self.state_dir)
        if genotype not in self._measured:
            self._measured[genotype] = self._limits_meter.measure(genotype)
        return all(c.violation(self._measured[genotype][self.sources[c.metric]]) == 0 for c in limits)

    def seeds(self) -> list[Genotype]:
        """The strategy's proposals after training, best first: GreedyNAS's candidate pool, EPS's proxy population."""
        if not self.trained:
            self.prepare(progress=False)
        return [genotype for genotype in self.strategy.seeds() if self._admissible(genotype)]

    # -- evaluating --------------------------------------------------------------------------
    def on_worker(self) -> None:
        use_threads(self.threads)

    def evaluate_one(self, candidate: Candidate) -> Evaluation:
        if not self.trained:
            self.prepare(progress=False)
        started = time.perf_counter()
        metrics: dict[str, float] = {}
        if self.accuracy_names:
            self._calibrate(candidate.genotype)
            value = accuracy(self.supernet, self.data.x_val, self.data.y_val)
            metrics.update(dict.fromkeys(self.accuracy_names, value))
        measured = self.meter.measure(candidate.genotype)
        metrics.update({name: measured[source] for name, source in self.sources.items() if source in measured})
        status = "ok" if all(math.isfinite(v) for v in metrics.values()) else "failed"
        return Evaluation(metrics, status=status, seconds=time.perf_counter() - started)

    def _calibrate(self, genotype: Genotype) -> None:
        """Selects ``genotype``'s path and recomputes its BatchNorm statistics on the fixed calibration batches."""
        self.supernet.select(genotype)
        recalibrate_batchnorm(self.supernet, self.calibration)

    def inherited_network(self, genotype: Genotype) -> torch.nn.Module:
        """The path's stand-alone network with the trained supernet's weights and recalibrated BatchNorm:
        the network whose accuracy the search measured. `CheckpointError` while training is unfinished."""
        if not self.trained:
            checkpoint = load_tensors(self.checkpoint_path) if self.checkpoint_path and self.checkpoint_path.is_file() else None
            if checkpoint is None or not checkpoint.get("complete"):
                raise CheckpointError(f"the supernet of {self.state_dir.parent} is not trained yet; finish it with `evonas resume`")
            self._load(checkpoint, self.checkpoint_path)
            self.trained = True
        self._calibrate(genotype)
        return self.supernet.subnet(genotype).eval()
