"""`NetworkMeter`: the metrics a built network gives without training — size, FLOPs, latency."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from evonas.errors import ConfigError
from evonas.genotype import Genotype
from evonas.measure.latency import LatencyTable, layers_of, measure_latency
from evonas.measure.size import count_flops, count_params
from evonas.spaces.base import SearchSpace

NETWORK_METRICS = ("params", "flops", "latency", "latency:measured")
LATENCY_TABLE_FILE = "latency_table.json"


class NetworkMeter:
    """Measures ``params``, ``flops`` (torch's counter, one image), ``latency`` (lookup table, ms) and
    ``latency:measured`` (the whole network timed, ms) of a space's networks.

    Args:
        space: the search space.
        build_options: keyword arguments of ``space.build`` (classes, channels, image size, widths).
        metrics: the metrics wanted (a subset of `NETWORK_METRICS`).
        table_dir: where the latency lookup table is kept (measured once, reused after); None
            keeps it in memory only.
    """

    def __init__(self, space: SearchSpace, build_options: Mapping[str, Any], metrics: Sequence[str], table_dir: Path | None) -> None:
        unknown = sorted(set(metrics) - set(NETWORK_METRICS))
        if unknown:
            raise ConfigError(f"cannot measure {', '.join(map(repr, unknown))} of a network; known: {', '.join(NETWORK_METRICS)}")
        self.space = space
        self.build_options = dict(build_options)
        self.metrics = tuple(metrics)
        self.table_dir = table_dir
        self.input_shape = (1, build_options["in_channels"], build_options["image_size"], build_options["image_size"])
        self.table: LatencyTable | None = None
        self._layers = None

    def prepare(self) -> None:
        """Loads the latency table from ``table_dir``, or measures and stores it (only if latency is wanted)."""
        if "latency" not in self.metrics or self.table is not None:
            return
        supernet = self.space.build_supernet(**self.build_options)
        self._layers = layers_of(supernet, self.input_shape)
        path = self.table_dir / LATENCY_TABLE_FILE if self.table_dir else None
        if path is not None and path.is_file():
            self.table = LatencyTable.load(path)
            return
        self.table = LatencyTable.measure(self._layers)
        if path is not None:
            self.table.save(path)

    def measure(self, genotype: Genotype) -> dict[str, float]:
        """The wanted metrics of ``genotype``'s network."""
        if not self.metrics:
            return {}
        self.prepare()
        network = self.space.build(genotype, **self.build_options)
        values: dict[str, float] = {}
        for metric in self.metrics:
            if metric == "params":
                values[metric] = float(count_params(network))
            elif metric == "flops":
                values[metric] = float(count_flops(network, self.input_shape))
            elif metric == "latency":
                values[metric] = self.table.predict(self._layers, genotype)
            else:
                values[metric] = measure_latency(network, self.input_shape)
        return values


def network_options(space: SearchSpace, widths: Mapping[str, int] | None, defaults: Mapping[str, Mapping[str, int]]) -> dict[str, int]:
    """The width options of ``space``'s networks: ``defaults[space.name]`` updated by ``widths``.

    Raises `ConfigError` naming an option the space's network does not take or a value below 1.
    """
    options = {**defaults.get(space.name, {}), **(widths or {})}
    for name, value in options.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"width option {name}={value!r} must be a positive integer")
    try:
        with torch.device("meta"):
            space.network(None, num_classes=2, in_channels=1, image_size=8, **options)
    except TypeError as error:
        raise ConfigError(f"space {space.name!r} does not take width options {options}: {error}") from None
    return options
