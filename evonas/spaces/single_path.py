"""`SinglePathSpace`: a chain of layers, one gene each, all with the same choices; one digit per layer."""

from __future__ import annotations

from typing import ClassVar

from evonas.errors import ArchitectureError
from evonas.genotype import Genotype
from evonas.spaces.base import Gene, SearchSpace


class SinglePathSpace(SearchSpace):
    """Layers ``0..layers-1`` each pick one of ``choices``; the canonical string is one digit per layer.

    Choices are ordinal (subclasses list them by increasing capacity).
    """

    choices: ClassVar[tuple[str, ...]]
    layers: ClassVar[int]
    label: ClassVar[str]  # how error messages call the string ("NAS-Bench-Macro arch string")

    def __init__(self) -> None:
        self.genes = tuple(Gene(f"layer {i}", self.choices, ordinal=True) for i in range(self.layers))

    def encode(self, genotype: Genotype) -> str:
        self.validate(genotype)
        return "".join(str(g) for g in genotype.genes)

    def decode(self, text: str) -> Genotype:
        text = text.strip()
        digits = "".join(str(i) for i in range(len(self.choices)))
        if len(text) != self.layers or any(c not in digits for c in text):
            raise ArchitectureError(f"not a {self.label} ({self.layers} digits 0-{len(self.choices) - 1}): {text!r}")
        return Genotype(self.name, tuple(int(c) for c in text))
