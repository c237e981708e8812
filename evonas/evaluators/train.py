"""The train evaluator: each candidate trained from scratch for a fixed budget, then measured on validation.

The ground truth that supernet rankings are judged against, and the retrain stage after a search.
Candidates train in parallel through `evonas.parallel` (local processes by default); each draws its
initial weights and batch order from its own ``Candidate.seed``, so results do not depend on the
number of workers or on their order.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from evonas.data import Dataset, data_input, load_dataset
from evonas.evaluators.base import Candidate, Evaluation, Evaluator
from evonas.evaluators.supernet import DEFAULT_DATA, DEFAULT_WIDTHS, check_metrics
from evonas.genotype import Genotype
from evonas.measure.meter import NetworkMeter, network_options
from evonas.parallel import Parallelism
from evonas.spaces import get_space
from evonas.spaces.base import SearchSpace
from evonas.training import TrainingOptions, accuracy, torch_seed, train_network, use_threads

DEFAULT_EPOCHS = 10


@dataclass(frozen=True)
class TrainingTask:
    """Everything a worker needs to train one candidate (plain data, so it pickles to any backend)."""

    genotype: Genotype
    build_options: dict[str, int]
    data: str
    data_seed: int
    training: TrainingOptions
    seed: int
    threads: int
    final: bool = False


@functools.lru_cache(maxsize=2)
def _dataset(source: str, seed: int) -> Dataset:
    return load_dataset(source, seed=seed)


def train_candidate(task: TrainingTask) -> tuple[float, float]:
    """Trains one candidate from scratch; returns its accuracy (%) and the seconds it took.

    A search's candidate trains on the training split and is measured on the validation split; a
    ``final`` one (retraining after the search) trains on both and is measured on the held-back test split.
    """
    started = time.perf_counter()
    use_threads(task.threads)
    data = _dataset(task.data, task.data_seed)
    generator = torch.Generator().manual_seed(task.seed)
    network = get_space(task.genotype.space).build(task.genotype, **task.build_options, generator=generator)
    if task.final:
        x, y = torch.cat([data.x_train, data.x_val]), torch.cat([data.y_train, data.y_val])
        train_network(network, x, y, task.training, generator)
        return accuracy(network, data.x_test, data.y_test), time.perf_counter() - started
    train_network(network, data.x_train, data.y_train, task.training, generator)
    return accuracy(network, data.x_val, data.y_val), time.perf_counter() - started


class TrainEvaluator(Evaluator):
    """Accuracy after training each candidate from scratch, plus size and latency of its network.

    Args:
        data: "cluttered-digits" (default), "digits", a ``.npz`` file or a folder of class folders.
        epochs, batch_size, optimizer, lr, momentum, weight_decay, schedule: the training budget
            (see `TrainingOptions`).
        widths: width options of the space's network (the supernet evaluator's by default).
        jobs: candidates trained at once (-1: one per core).
        backend: where they train (`evonas.parallel.BACKENDS`).
        threads: torch threads of each training.
    """

    name = "train"
    description = "train every candidate from scratch (ground truth, retraining)"

    def __init__(
        self,
        *,
        space: SearchSpace,
        sources: Mapping[str, str],
        state_dir: Path | None = None,
        seed: int = 0,
        data: str = DEFAULT_DATA,
        epochs: int = DEFAULT_EPOCHS,
        batch_size: int = 64,
        optimizer: str = "sgd",
        lr: float = 0.1,
        momentum: float = 0.9,
        weight_decay: float = 5e-4,
        schedule: str = "cosine",
        widths: Mapping[str, int] | None = None,
        jobs: int = 1,
        backend: str = "loky",
        threads: int = 1,
    ) -> None:
        super().__init__(space=space, sources=sources, state_dir=state_dir, seed=seed)
        self.accuracy_names, network_metrics = check_metrics(self.name, self.sources)
        self.training = TrainingOptions(
            epochs=epochs, batch_size=batch_size, optimizer=optimizer, lr=lr, momentum=momentum,
            weight_decay=weight_decay, schedule=schedule,
        )
        self.parallelism = Parallelism(backend=backend, jobs=jobs)
        use_threads(threads)
        self.threads = threads
        self.data_source = data
        dataset = _dataset(data, seed)
        shape = {"num_classes": dataset.num_classes, "in_channels": dataset.in_channels, "image_size": dataset.image_size}
        self.build_options = {**shape, **network_options(space, widths, DEFAULT_WIDTHS)}
        self.meter = NetworkMeter(space, self.build_options, network_metrics, state_dir)

    def prepare(self, *, progress: bool = True) -> None:
        self.meter.prepare(progress=progress)

    def inputs(self) -> dict[str, Path | str]:
        return {"data": data_input(self.data_source)}

    def _tasks(self, candidates: Sequence[Candidate], *, final: bool) -> list[TrainingTask]:
        return [
            TrainingTask(c.genotype, self.build_options, self.data_source, self.seed, self.training, torch_seed(c.seed), self.threads, final)
            for c in candidates
        ]

    def test_accuracy(self, candidates: Sequence[Candidate]) -> Iterator[tuple[float, float]]:
        """The retrain stage: each candidate trained from scratch on the training and validation splits together,
        then measured on the held-back test split; yields (accuracy %, seconds) in order."""
        return self.parallelism.map(train_candidate, self._tasks(candidates, final=True))

    def evaluate(self, candidates: Sequence[Candidate]) -> Iterator[Evaluation]:
        tasks = self._tasks(candidates, final=False)
        if self.accuracy_names:
            results = self.parallelism.map(train_candidate, tasks)
        else:  # only size or latency asked: nothing to train
            results = ((math.nan, 0.0) for _ in tasks)
        for candidate, (value, seconds) in zip(candidates, results):
            started = time.perf_counter()
            metrics = dict.fromkeys(self.accuracy_names, value)
            measured = self.meter.measure(candidate.genotype)
            metrics.update({name: measured[source] for name, source in self.sources.items() if source in measured})
            status = "ok" if all(math.isfinite(v) for v in metrics.values()) else "failed"
            yield Evaluation(metrics, status=status, seconds=seconds + time.perf_counter() - started)
