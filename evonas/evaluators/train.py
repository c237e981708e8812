"""The train evaluator: each candidate trained from scratch for a fixed budget, then measured on validation.

The ground truth that supernet rankings are judged against, and the retrain stage after a search.
Each candidate draws its initial weights and batch order from its own ``Candidate.seed``, so results
do not depend on the number of workers (`evonas.parallel`) or on their order.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Mapping
from pathlib import Path

import torch

from evonas.data import data_input, load_dataset
from evonas.evaluators.base import Candidate, Evaluation, Evaluator
from evonas.evaluators.supernet import DEFAULT_DATA, DEFAULT_WIDTHS, check_metrics
from evonas.measure.meter import NetworkMeter, network_options
from evonas.spaces.base import SearchSpace
from evonas.training import TrainingOptions, accuracy, torch_seed, train_network, use_threads

DEFAULT_EPOCHS = 10


class TrainEvaluator(Evaluator):
    """Accuracy after training each candidate from scratch, plus size and latency of its network.

    Args:
        data: "cluttered-digits" (default), "digits", a ``.npz`` file or a folder of class folders.
        epochs, batch_size, optimizer, lr, momentum, weight_decay, schedule: the training budget
            (see `TrainingOptions`).
        widths: width options of the space's network (the supernet evaluator's by default).
        threads: torch threads of each training (in this process and in each worker).
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
        threads: int = 1,
    ) -> None:
        super().__init__(space=space, sources=sources, state_dir=state_dir, seed=seed)
        self.accuracy_names, network_metrics = check_metrics(self.name, self.sources)
        self.training = TrainingOptions(
            epochs=epochs, batch_size=batch_size, optimizer=optimizer, lr=lr, momentum=momentum,
            weight_decay=weight_decay, schedule=schedule,
        )
        use_threads(threads)
        self.threads = threads
        self.data_source = data
        self.data = load_dataset(data, seed=seed)
        shape = {"num_classes": self.data.num_classes, "in_channels": self.data.in_channels, "image_size": self.data.image_size}
        self.build_options = {**shape, **network_options(space, widths, DEFAULT_WIDTHS)}
        self.meter = NetworkMeter(space, self.build_options, network_metrics, state_dir)
        self.final = False

    def prepare(self, *, progress: bool = True) -> None:
        self.meter.prepare(progress=progress)

    def inputs(self) -> dict[str, Path | str]:
        return {"data": data_input(self.data_source)}

    def on_worker(self) -> None:
        use_threads(self.threads)

    def retraining(self) -> TrainEvaluator:
        """This evaluator as the retrain stage: a candidate trains on the training and validation splits
        together and its ``acc`` is measured on the held-back test split."""
        final = copy.copy(self)
        final.final = True
        return final

    def evaluate_one(self, candidate: Candidate) -> Evaluation:
        started = time.perf_counter()
        metrics = dict.fromkeys(self.accuracy_names, self._trained_accuracy(candidate) if self.accuracy_names else math.nan)
        measured = self.meter.measure(candidate.genotype)
        metrics.update({name: measured[source] for name, source in self.sources.items() if source in measured})
        status = "ok" if all(math.isfinite(v) for v in metrics.values()) else "failed"
        return Evaluation(metrics, status=status, seconds=time.perf_counter() - started)

    def _trained_accuracy(self, candidate: Candidate) -> float:
        """Accuracy (%) of ``candidate``'s network trained from scratch on its own seed."""
        generator = torch.Generator().manual_seed(torch_seed(candidate.seed))
        network = self.space.build(candidate.genotype, **self.build_options, generator=generator)
        data = self.data
        if self.final:
            x, y = torch.cat([data.x_train, data.x_val]), torch.cat([data.y_train, data.y_val])
            train_network(network, x, y, self.training, generator)
            return accuracy(network, data.x_test, data.y_test)
        train_network(network, data.x_train, data.y_train, self.training, generator)
        return accuracy(network, data.x_val, data.y_val)
