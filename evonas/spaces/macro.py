"""NAS-Bench-Macro: a single-path network of 8 searchable layers, 3 choices each (6,561 networks)."""

from __future__ import annotations

from evonas.errors import ArchitectureError
from evonas.genotype import Genotype
from evonas.spaces.base import Gene, SearchSpace

CHOICES = ("identity", "mbconv_e3_k3", "mbconv_e6_k5")
LAYERS = 8


class MacroSpace(SearchSpace):
    """NAS-Bench-Macro's space; the canonical string is 8 digits, one per layer.

    ``0`` identity, ``1`` MobileNetV2 block expand 3 kernel 3, ``2`` expand 6 kernel 5; the
    choices are ordinal (increasing capacity).
    """

    name = "macro"
    description = "NAS-Bench-Macro single path: 8 layers x {identity, MBConv e3k3, e6k5}"

    def __init__(self) -> None:
        self.genes = tuple(Gene(f"layer {i}", CHOICES, ordinal=True) for i in range(LAYERS))

    def encode(self, genotype: Genotype) -> str:
        self.validate(genotype)
        return "".join(str(g) for g in genotype.genes)

    def decode(self, text: str) -> Genotype:
        text = text.strip()
        if len(text) != LAYERS or any(c not in "012" for c in text):
            raise ArchitectureError(f"not a NAS-Bench-Macro arch string ({LAYERS} digits 0/1/2): {text!r}")
        return Genotype(self.name, tuple(int(c) for c in text))
