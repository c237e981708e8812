"""Building blocks shared by the spaces' networks, stand-alone and weight-sharing alike.

A supernet holds these same blocks inside `Choice` layers, so a stand-alone network and the path of
a supernet have the same parameters under corresponding names.
"""

from __future__ import annotations

import torch
from torch import nn


class ReLUConvBN(nn.Sequential):
    """ReLU, convolution without bias, BatchNorm: NAS-Bench-201's convolution operation."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1) -> None:
        super().__init__(
            nn.ReLU(),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out),
        )


class Zero(nn.Module):
    """The absent edge: zeros of the input's shape (no parameters, no FLOPs)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x)


class AvgPool3x3(nn.AvgPool2d):
    """3x3 average pooling that keeps the resolution, padding not counted (NAS-Bench-201's ``avg_pool_3x3``)."""

    def __init__(self) -> None:
        super().__init__(3, stride=1, padding=1, count_include_pad=False)


class ResidualReduction(nn.Module):
    """NAS-Bench-201's reduction block between stages: a ResNet basic block with stride 2.

    Two ReLU-Conv-BN 3x3 convolutions (the first with stride 2) plus a shortcut of 2x2 average
    pooling and a 1x1 convolution. The pooling rounds up so that odd image sizes match the strided
    convolution (identical to the published block on even sizes).
    """

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride=2)
        self.conv_b = ReLUConvBN(c_out, c_out, 3)
        self.shortcut = nn.Sequential(
            nn.AvgPool2d(2, stride=2, ceil_mode=True), nn.Conv2d(c_in, c_out, 1, bias=False)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.conv_b(self.conv_a(x))


class Skip(nn.Module):
    """A layer left out: the identity, or a 1x1 convolution + BatchNorm where stride or width change.

    The projection is what NAS-Bench-Macro uses for an identity layer that opens a stage.
    """

    def __init__(self, c_in: int, c_out: int, stride: int = 1) -> None:
        super().__init__()
        self.projection = (
            nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))
            if stride != 1 or c_in != c_out
            else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x if self.projection is None else self.projection(x)


class InvertedResidual(nn.Module):
    """MobileNetV2's block (MBConv): 1x1 expansion, depthwise ``kernel`` x ``kernel``, 1x1 projection.

    ReLU after the first two convolutions, BatchNorm after each; a residual connection when the
    block keeps both stride and width.
    """

    def __init__(self, c_in: int, c_out: int, *, stride: int, expansion: int, kernel: int) -> None:
        super().__init__()
        hidden = c_in * expansion
        self.conv = nn.Sequential(
            nn.Conv2d(c_in, hidden, 1, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU(),
            nn.Conv2d(hidden, hidden, kernel, stride=stride, padding=kernel // 2, groups=hidden, bias=False),
            nn.BatchNorm2d(hidden),
            nn.ReLU(),
            nn.Conv2d(hidden, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out),
        )
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        return out + x if self.residual else out


class ClassifierHead(nn.Sequential):
    """Global average pooling and a linear classifier."""

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes))
