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
