"""Single-path networks (SPOS, NAS-Bench-Macro, OFA style): a stem, a chain of searchable layers, a head.

Each searchable layer is one gene; its choices are MBConv blocks of given expansion and kernel, or
a skip. The first layer of a stage changes the width and may halve the resolution.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from evonas.networks.blocks import ClassifierHead, InvertedResidual, Skip
from evonas.networks.supernet import decision


@dataclass(frozen=True)
class BlockChoice:
    """One choice of a searchable layer: an MBConv block, or a skip when ``expansion`` is 0."""

    expansion: int = 0
    kernel: int = 0

    def maker(self, c_in: int, c_out: int, stride: int) -> Callable[[], nn.Module]:
        if self.expansion == 0:
            return lambda: Skip(c_in, c_out, stride)
        return lambda: InvertedResidual(c_in, c_out, stride=stride, expansion=self.expansion, kernel=self.kernel)


SKIP = BlockChoice()


@dataclass(frozen=True)
class Stage:
    """Layers of one width; the first has ``stride``, the others stride 1."""

    width: int
    layers: int
    stride: int


def conv_bn_relu(c_in: int, c_out: int, kernel: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, bias=False), nn.BatchNorm2d(c_out), nn.ReLU())


class SinglePathNetwork(nn.Module):
    """3x3 stem, searchable layers stage by stage, 1x1 head convolution, pooling and classifier.

    Args:
        genes: one choice index per searchable layer, or None for a supernet.
        choices: what each layer can be, in the genes' order.
        stages: the layer plan; the layer count must equal the number of genes.
        num_classes: outputs of the classifier.
        in_channels: channels of the input images.
        stem_channels: width of the stem.
        head_channels: width of the 1x1 convolution before pooling.
    """

    def __init__(
        self,
        genes: Sequence[int] | None,
        *,
        choices: Sequence[BlockChoice],
        stages: Sequence[Stage],
        num_classes: int,
        in_channels: int,
        stem_channels: int,
        head_channels: int,
    ) -> None:
        super().__init__()
        self.stem = conv_bn_relu(in_channels, stem_channels, 3)
        layers: list[nn.Module] = []
        width = stem_channels
        for stage in stages:
            for position in range(stage.layers):
                stride = stage.stride if position == 0 else 1
                options = [choice.maker(width, stage.width, stride) for choice in choices]
                layers.append(decision(len(layers), genes, options))
                width = stage.width
        self.layers = nn.Sequential(*layers)
        self.head = conv_bn_relu(width, head_channels, 1)
        self.classifier = ClassifierHead(head_channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.head(self.layers(self.stem(x))))
