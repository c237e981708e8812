"""NAS-Bench-Macro: a single-path network of 8 searchable layers, 3 choices each (6,561 networks)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from evonas.spaces.single_path import SinglePathSpace

if TYPE_CHECKING:
    from torch import nn

CHOICES = ("identity", "mbconv_e3_k3", "mbconv_e6_k5")
LAYERS = 8


class MacroSpace(SinglePathSpace):
    """NAS-Bench-Macro's space; the canonical string is 8 digits, one per layer.

    ``0`` identity, ``1`` MobileNetV2 block expand 3 kernel 3, ``2`` expand 6 kernel 5; the
    choices are ordinal (increasing capacity). ``build`` gives the published network (see
    `evonas.networks.macro`).
    """

    name = "macro"
    description = "NAS-Bench-Macro single path: 8 layers x {identity, MBConv e3k3, e6k5}"
    choices = CHOICES
    layers = LAYERS
    label = "NAS-Bench-Macro arch string"

    def network(self, genes: Sequence[int] | None, *, num_classes: int, in_channels: int, image_size: int, **options: Any) -> nn.Module:
        from evonas.networks.macro import macro_network

        return macro_network(genes, num_classes=num_classes, in_channels=in_channels, **options)
