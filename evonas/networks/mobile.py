"""The mobile network: 16 searchable layers in four stages of MBConv blocks or skips (ProxylessNAS/OFA style).

Defaults: a 16-channel stem, stages of 16, 24, 40 and 80 channels (the first at full resolution, the
others halving it), a 320-channel 1x1 head convolution.
"""

from __future__ import annotations

from collections.abc import Sequence

from evonas.networks.single_path import SKIP, BlockChoice, SinglePathNetwork, Stage

EXPANSIONS = (3, 6)
KERNELS = (3, 5, 7)
# In the order of evonas.spaces.mobile.CHOICES: skip, then expansion-major (e3 k3, e3 k5, ..., e6 k7).
CHOICES = (SKIP, *(BlockChoice(expansion=e, kernel=k) for e in EXPANSIONS for k in KERNELS))
LAYERS_PER_STAGE = 4
STAGE_WIDTHS = (1.0, 1.5, 2.5, 5.0)  # x channels
STAGE_STRIDES = (1, 2, 2, 2)


def mobile_network(
    genes: Sequence[int] | None, *, num_classes: int, in_channels: int, channels: int = 16, head_channels: int = 320
) -> SinglePathNetwork:
    """The mobile space's network of ``genes`` (None: its supernet); stage widths scale with ``channels``."""
    stages = tuple(
        Stage(round(ratio * channels), LAYERS_PER_STAGE, stride) for ratio, stride in zip(STAGE_WIDTHS, STAGE_STRIDES)
    )
    return SinglePathNetwork(
        genes,
        choices=CHOICES,
        stages=stages,
        num_classes=num_classes,
        in_channels=in_channels,
        stem_channels=channels,
        head_channels=head_channels,
    )
