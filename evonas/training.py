"""Training and measuring networks: options, optimiser and schedule, batches, accuracy, BatchNorm recalibration.

Shared by the supernet evaluator (which trains one weight-sharing network) and the train evaluator
(which trains each candidate from scratch). Every draw comes from a ``torch.Generator`` passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from evonas.errors import ConfigError

OPTIMIZERS = ("sgd", "adam")
SCHEDULES = ("cosine", "constant")
EVAL_BATCH = 1024


@dataclass(frozen=True, kw_only=True)
class TrainingOptions:
    """How a network is trained.

    Attributes:
        epochs: passes over the training split.
        batch_size: images per step.
        optimizer: "sgd" (Nesterov momentum) or "adam".
        lr: initial learning rate.
        momentum: SGD momentum.
        weight_decay: L2 penalty on every parameter.
        schedule: "cosine" (annealed to 0 over all steps) or "constant".
    """

    epochs: int
    batch_size: int = 64
    optimizer: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "cosine"

    def __post_init__(self) -> None:
        if self.epochs < 0:
            raise ConfigError(f"--epochs must be at least 0, got {self.epochs}")
        if self.batch_size < 1:
            raise ConfigError(f"--batch-size must be at least 1, got {self.batch_size}")
        if not self.lr > 0:
            raise ConfigError(f"--lr must be positive, got {self.lr}")
        if self.optimizer not in OPTIMIZERS:
            raise ConfigError(f"unknown optimizer {self.optimizer!r}; known: {', '.join(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"unknown schedule {self.schedule!r}; known: {', '.join(SCHEDULES)}")

    def steps_per_epoch(self, n_train: int) -> int:
        return -(-n_train // self.batch_size)

    def optimizer_for(self, parameters: Sequence[nn.Parameter]) -> torch.optim.Optimizer:
        if self.optimizer == "adam":
            return torch.optim.Adam(parameters, lr=self.lr, weight_decay=self.weight_decay)
        return torch.optim.SGD(parameters, lr=self.lr, momentum=self.momentum, nesterov=True, weight_decay=self.weight_decay)

    def scheduler_for(self, optimizer: torch.optim.Optimizer, total_steps: int) -> torch.optim.lr_scheduler.LRScheduler:
        """A per-step schedule; its state dict holds numbers only, so it checkpoints safely."""
        if self.schedule == "constant":
            return torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(total_steps, 1))


def torch_seed(seed: np.random.SeedSequence) -> int:
    """A seed for ``torch.Generator.manual_seed`` drawn from a numpy seed sequence (63 bits)."""
    return int(seed.generate_state(1, dtype=np.uint64)[0] >> 1)


def use_threads(threads: int) -> None:
    """Sets torch's thread count for the process (intra-op); `ConfigError` below 1."""
    if threads < 1:
        raise ConfigError(f"--threads must be at least 1, got {threads}")
    torch.set_num_threads(threads)


def epoch_batches(n: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """Indices of one epoch's batches: a random permutation of ``range(n)`` cut into batches."""
    return list(torch.randperm(n, generator=generator).split(batch_size))


def train_step(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, scale: float = 1.0
) -> tuple[float, float]:
    """Forward and backward of one batch (gradients accumulate, scaled by ``scale``); returns loss and accuracy %."""
    logits = model(x)
    loss = nn.functional.cross_entropy(logits, y)
    (loss * scale).backward()
    return float(loss.detach()), float((logits.argmax(1) == y).float().mean()) * 100


def train_network(
    model: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    options: TrainingOptions,
    generator: torch.Generator,
    on_step: Callable[[float, float], None] | None = None,
) -> None:
    """Trains ``model`` from its current weights; batch order from ``generator``.

    ``on_step(loss, accuracy)`` hears about every step (a progress bar).
    """
    optimizer = options.optimizer_for(list(model.parameters()))
    scheduler = options.scheduler_for(optimizer, options.epochs * options.steps_per_epoch(len(x)))
    model.train()
    for _ in range(options.epochs):
        for batch in epoch_batches(len(x), options.batch_size, generator):
            optimizer.zero_grad(set_to_none=True)
            loss, acc = train_step(model, x[batch], y[batch])
            optimizer.step()
            scheduler.step()
            if on_step:
                on_step(loss, acc)


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Top-1 accuracy in percent, in inference mode."""
    model.eval()
    correct = sum(int((model(xb).argmax(1) == yb).sum()) for xb, yb in zip(x.split(EVAL_BATCH), y.split(EVAL_BATCH)))
    return 100.0 * correct / len(y)


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, batches: Iterator[torch.Tensor] | Sequence[torch.Tensor]) -> None:
    """Replaces every BatchNorm's running statistics by their exact average over ``batches``.

    What SPOS does before measuring a path with inherited weights: the supernet's running
    statistics mix all paths and fit none.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    model.train()
    for x in batches:
        model(x)
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    model.eval()
