"""Latency on this machine: whole networks timed, and a per-layer lookup table that predicts them.

Timings are at batch 1 in inference mode with a fixed thread count: a few warm-up runs, then the
median of repeated runs. The lookup table times each distinct layer of a space's supernet once
(every choice of every decision, and the fixed layers around them) and predicts a path's latency
as the sum of its layers' entries; it is measured once per run and stored as JSON.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from evonas.checkpoint import atomic_write
from evonas.errors import CheckpointError
from evonas.genotype import Genotype
from evonas.networks.supernet import Choice, Supernet

THREADS = 1
WARMUP = 5
REPEATS = 21
TABLE_VERSION = 1


@torch.no_grad()
def measure_latency(
    module: nn.Module, input_shape: Sequence[int], *, threads: int = THREADS, warmup: int = WARMUP, repeats: int = REPEATS
) -> float:
    """Median milliseconds of one inference of ``module`` on a zero input of ``input_shape``.

    Runs with ``threads`` torch threads (restored afterwards) after ``warmup`` untimed runs.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        was_training = module.training
        module.eval()
        x = torch.zeros(*input_shape)
        for _ in range(warmup):
            module(x)
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            module(x)
            times.append(time.perf_counter() - started)
        module.train(was_training)
        return 1000.0 * statistics.median(times)
    finally:
        torch.set_num_threads(previous)


@dataclass(frozen=True)
class Layer:
    """A unit of the lookup table: a module with its input shape; a `Choice` stands for its options."""

    module: nn.Module
    input_shape: tuple[int, ...]

    def signature(self, module: nn.Module | None = None) -> str:
        """What identifies a measurement: the module's description and its input shape."""
        described = " ".join(repr(module or self.module).split())
        return f"{described} @ {'x'.join(map(str, self.input_shape))}"


def layers_of(supernet: Supernet, input_shape: Sequence[int]) -> list[Layer]:
    """The supernet's units in forward order: each `Choice`, and each largest module holding none.

    Input shapes are recorded on one forward pass at batch 1 (every choice of a decision keeps the
    shapes, so any path gives the same ones).
    """
    units: list[nn.Module] = []

    def collect(module: nn.Module) -> None:
        if isinstance(module, Choice) or not any(isinstance(m, Choice) for m in module.modules()):
            units.append(module)
            return
        for child in module.children():
            collect(child)

    for child in supernet.network.children():
        collect(child)
    shapes: dict[int, tuple[int, ...]] = {}

    def record(module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
        shapes[id(module)] = tuple(args[0].shape)

    hooks = [unit.register_forward_pre_hook(record) for unit in units]
    first_choices = supernet.space.make([0] * len(supernet.space.genes))
    try:
        with torch.no_grad():
            supernet.select(first_choices).eval()(torch.zeros(1, *input_shape[1:]))
    finally:
        for hook in hooks:
            hook.remove()
    return [Layer(unit, shapes[id(unit)]) for unit in units if id(unit) in shapes]


def path_modules(layers: Sequence[Layer], genotype: Genotype) -> list[tuple[Layer, nn.Module]]:
    """Each layer with the module that ``genotype`` runs in it."""
    return [
        (layer, layer.module.options[genotype.genes[layer.module.gene]] if isinstance(layer.module, Choice) else layer.module)
        for layer in layers
    ]


@dataclass
class LatencyTable:
    """Milliseconds of every distinct layer of a space's networks at given widths, on this machine.

    Attributes:
        entries: layer signature -> median milliseconds.
        info: how it was measured (threads, repeats, torch version, input shape).
    """

    entries: dict[str, float]
    info: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def measure(cls, layers: Sequence[Layer], *, threads: int = THREADS, progress: bool = False) -> LatencyTable:
        """Times each distinct module of ``layers`` (all options of every `Choice`) at batch 1; ``progress``
        shows a bar over the modules."""
        from tqdm.auto import tqdm

        distinct: dict[str, tuple[nn.Module, tuple[int, ...]]] = {}
        for layer in layers:
            for option in layer.module.options if isinstance(layer.module, Choice) else [layer.module]:
                distinct.setdefault(layer.signature(option), (option, layer.input_shape))
        entries: dict[str, float] = {}
        with tqdm(total=len(distinct), unit="layer", desc="latency table", disable=not progress, dynamic_ncols=True, leave=False) as bar:
            for key, (module, input_shape) in distinct.items():
                entries[key] = measure_latency(module, input_shape, threads=threads)
                bar.update(1)
        info = {"threads": threads, "warmup": WARMUP, "repeats": REPEATS, "torch": torch.__version__}
        return cls(entries, info)

    def predict(self, layers: Sequence[Layer], genotype: Genotype) -> float:
        """Predicted milliseconds of ``genotype``'s network: the sum of its layers' entries."""
        total = 0.0
        for layer, module in path_modules(layers, genotype):
            key = layer.signature(module)
            if key not in self.entries:
                raise CheckpointError(f"the latency table has no entry for {key}; it was measured for other networks")
            total += self.entries[key]
        return total

    def save(self, path: Path) -> None:
        atomic_write(path, json.dumps({"version": TABLE_VERSION, "info": self.info, "entries": self.entries}, indent=1) + "\n")

    @classmethod
    def load(cls, path: Path) -> LatencyTable:
        try:
            document = json.loads(Path(path).read_text(encoding="utf-8"))
            if document.get("version") != TABLE_VERSION:
                raise ValueError(f"version {document.get('version')!r}, expected {TABLE_VERSION}")
            return cls({str(k): float(v) for k, v in document["entries"].items()}, dict(document.get("info", {})))
        except (OSError, ValueError, KeyError, AttributeError, TypeError) as error:
            raise CheckpointError(f"latency table {path} is unreadable: {error}") from None
