"""A mobile single-path space: 16 layers, each skipped or an MBConv block of expansion 3/6 and kernel 3/5/7.

7^16 (about 3.3e13) architectures: too many to enumerate or tabulate, the case a supernet is for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from evonas.spaces.single_path import SinglePathSpace

if TYPE_CHECKING:
    from torch import nn

CHOICES = ("skip", "mbconv_e3_k3", "mbconv_e3_k5", "mbconv_e3_k7", "mbconv_e6_k3", "mbconv_e6_k5", "mbconv_e6_k7")
LAYERS = 16


class MobileSpace(SinglePathSpace):
    """The canonical string is 16 digits, one per layer: ``0`` skip, ``1``-``6`` MBConv e3k3, e3k5, ... e6k7.

    Choices are ordinal: at the default widths each has more parameters than the one before.
    ``build`` gives the network of `evonas.networks.mobile`.
    """

    name = "mobile"
    description = "mobile single path: 16 layers x {skip, MBConv e3/e6 x k3/k5/k7}"
    choices = CHOICES
    layers = LAYERS
    label = "mobile arch string"

    def network(self, genes: Sequence[int] | None, *, num_classes: int, in_channels: int, image_size: int, **options: Any) -> nn.Module:
        from evonas.networks.mobile import mobile_network

        return mobile_network(genes, num_classes=num_classes, in_channels=in_channels, **options)
