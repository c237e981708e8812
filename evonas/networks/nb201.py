"""The NAS-Bench-201 network: a stem, three stages of repeated cells, residual reductions, a classifier.

With the defaults (16 channels, 5 cells per stage) it is the published network: 73,306 parameters
for 10 classes with a cell without convolutions, 1,531,546 with every edge ``nor_conv_3x3``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from evonas.networks.blocks import AvgPool3x3, ClassifierHead, ReLUConvBN, ResidualReduction, Zero
from evonas.networks.supernet import decision
from evonas.spaces.nb201 import EDGES, OPERATIONS


def operation_options(channels: int) -> list[Callable[[], nn.Module]]:
    """Constructors of the cell operations, in the order of `OPERATIONS`."""
    makers = {
        "none": Zero,
        "skip_connect": nn.Identity,
        "nor_conv_1x1": lambda: ReLUConvBN(channels, channels, 1),
        "nor_conv_3x3": lambda: ReLUConvBN(channels, channels, 3),
        "avg_pool_3x3": AvgPool3x3,
    }
    return [makers[name] for name in OPERATIONS]


class Cell(nn.Module):
    """A NAS-Bench-201 cell: node ``t`` is the sum of an operation on each earlier node; node 3 is the output.

    Args:
        channels: width of every node.
        genes: the operation of each edge (in `EDGES` order), or None for a supernet cell.
    """

    def __init__(self, channels: int, genes: Sequence[int] | None) -> None:
        super().__init__()
        options = operation_options(channels)
        self.edges = nn.ModuleList(decision(e, genes, options) for e in range(len(EDGES)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        position = 0
        for target in (1, 2, 3):
            nodes.append(sum(self.edges[position + s](nodes[s]) for s in range(target)))
            position += target
        return nodes[3]


class NB201Network(nn.Module):
    """The NAS-Bench-201 skeleton around one cell genotype.

    Args:
        genes: the cell's operations, or None for a supernet.
        num_classes: outputs of the classifier.
        in_channels: channels of the input images.
        channels: width of the first stage (doubled at each of the two reductions).
        cells_per_stage: cells in each of the three stages.
    """

    def __init__(
        self, genes: Sequence[int] | None, *, num_classes: int, in_channels: int, channels: int = 16, cells_per_stage: int = 5
    ) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels))
        layers: list[nn.Module] = []
        width = channels
        for stage in range(3):
            if stage:
                layers.append(ResidualReduction(width, width * 2))
                width *= 2
            layers.extend(Cell(width, genes) for _ in range(cells_per_stage))
        self.cells = nn.Sequential(*layers)
        self.last_act = nn.Sequential(nn.BatchNorm2d(width), nn.ReLU())
        self.classifier = ClassifierHead(width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.last_act(self.cells(self.stem(x))))
