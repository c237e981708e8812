"""The NAS-Bench-Macro network: 8 searchable layers in three stages (2, 3, 3) that halve the resolution.

Published widths (the defaults): a 32-channel stem, stages of 64, 128 and 256 channels, a 1280-channel
1x1 head convolution; 387,882 parameters for 10 classes when every layer is an identity.
"""

from __future__ import annotations

from collections.abc import Sequence

from evonas.networks.single_path import SKIP, BlockChoice, SinglePathNetwork, Stage

# In the order of evonas.spaces.macro.CHOICES: identity, MBConv expand 3 kernel 3, expand 6 kernel 5.
CHOICES = (SKIP, BlockChoice(expansion=3, kernel=3), BlockChoice(expansion=6, kernel=5))


def macro_network(
    genes: Sequence[int] | None, *, num_classes: int, in_channels: int, channels: int = 32, head_channels: int = 1280
) -> SinglePathNetwork:
    """NAS-Bench-Macro's network of ``genes`` (None: its supernet); stage widths are 2, 4 and 8 x ``channels``."""
    stages = (Stage(2 * channels, 2, 2), Stage(4 * channels, 3, 2), Stage(8 * channels, 3, 2))
    return SinglePathNetwork(
        genes,
        choices=CHOICES,
        stages=stages,
        num_classes=num_classes,
        in_channels=in_channels,
        stem_channels=channels,
        head_channels=head_channels,
    )
