"""The surgery space's network: a stem, stages of convolution-BatchNorm-ReLU layers with pooling between, a classifier.

Every searchable layer reads the output of a ReLU (the stem's or its predecessor's, pooled between
stages), so a layer whose convolution and BatchNorm are the identity computes the identity: what
makes inserting a layer function-preserving (`evonas.networks.transfer`).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from evonas.networks.blocks import ClassifierHead

DEFAULT_STEM_CHANNELS = 8


class ConvLayer(nn.Sequential):
    """``kernel x kernel`` convolution without bias (resolution kept), BatchNorm, ReLU."""

    def __init__(self, c_in: int, c_out: int, kernel: int) -> None:
        super().__init__(nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False), nn.BatchNorm2d(c_out), nn.ReLU())


class SurgeryNetwork(nn.Module):
    """A sequential convolutional network of the given layers.

    Args:
        layers: per stage, ``(width, kernel)`` of each layer.
        num_classes: outputs of the classifier.
        in_channels: channels of the input images.
        stem_channels: width of the fixed 3x3 stem convolution.

    Parameter names: ``stem.0`` (convolution), ``stem.1`` (BatchNorm); ``stages.S.L.0`` and ``stages.S.L.1``
    for layer ``L`` of stage ``S``; ``head.2`` (the linear classifier).
    """

    def __init__(
        self,
        layers: Sequence[Sequence[tuple[int, int]]],
        *,
        num_classes: int,
        in_channels: int,
        stem_channels: int = DEFAULT_STEM_CHANNELS,
    ) -> None:
        super().__init__()
        self.layers = tuple(tuple(stage) for stage in layers)
        self.stem = ConvLayer(in_channels, stem_channels, 3)
        self.pool = nn.MaxPool2d(2, ceil_mode=True)
        stages, width = [], stem_channels
        for stage in self.layers:
            modules = []
            for c_out, kernel in stage:
                modules.append(ConvLayer(width, c_out, kernel))
                width = c_out
            stages.append(nn.Sequential(*modules))
        self.stages = nn.ModuleList(stages)
        self.head = ClassifierHead(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for s, stage in enumerate(self.stages):
            if s:
                x = self.pool(x)
            x = stage(x)
        return self.head(x)


def units(
    layers: Sequence[Sequence[tuple[int, int]]], *, num_classes: int, in_channels: int, image_size: int, stem_channels: int = DEFAULT_STEM_CHANNELS
) -> list[tuple[nn.Module, tuple[int, ...]]]:
    """The network's parts in forward order, each with its input shape at batch 1: what a latency table sums.
    The modules are on the ``meta`` device (no weights): they describe the parts."""
    size, width = image_size, stem_channels
    with torch.device("meta"):
        found: list[tuple[nn.Module, tuple[int, ...]]] = [(ConvLayer(in_channels, stem_channels, 3), (1, in_channels, size, size))]
        for s, stage in enumerate(layers):
            if s:
                found.append((nn.MaxPool2d(2, ceil_mode=True), (1, width, size, size)))
                size = -(-size // 2)
            for c_out, kernel in stage:
                found.append((ConvLayer(width, c_out, kernel), (1, width, size, size)))
                width = c_out
        found.append((ClassifierHead(width, num_classes), (1, width, size, size)))
    return found


def every_unit(
    widths: Sequence[int], kernels: Sequence[int], stages: int, *, num_classes: int, in_channels: int, image_size: int,
    stem_channels: int = DEFAULT_STEM_CHANNELS,
) -> list[tuple[nn.Module, tuple[int, ...]]]:
    """Every part that a network of these widths, kernels and stages can have, with its input shape (``meta`` modules)."""
    size = image_size
    with torch.device("meta"):
        found: list[tuple[nn.Module, tuple[int, ...]]] = [(ConvLayer(in_channels, stem_channels, 3), (1, in_channels, size, size))]
        for s in range(stages):
            if s:
                found += [(nn.MaxPool2d(2, ceil_mode=True), (1, w, size, size)) for w in widths]
                size = -(-size // 2)
            readable = sorted({*widths, stem_channels}) if s == 0 else widths
            found += [(ConvLayer(c_in, c_out, k), (1, c_in, size, size)) for c_in in readable for c_out in widths for k in kernels]
        found += [(ClassifierHead(w, num_classes), (1, w, size, size)) for w in widths]
    return found
