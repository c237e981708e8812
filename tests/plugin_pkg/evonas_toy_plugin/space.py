"""The toy space: four genes of three ordered choices (81 architectures), written as four letters ("abca")."""

from __future__ import annotations

from evonas.errors import ArchitectureError
from evonas.genotype import Genotype
from evonas.spaces import Gene, SearchSpace

LETTERS = "abc"
GENES = 4


class ToySpace(SearchSpace):
    """Four genes, each ``a`` < ``b`` < ``c``; builds no network."""

    name = "toy"
    description = f"toy plug-in: {GENES} genes x {{{', '.join(LETTERS)}}}"

    def __init__(self) -> None:
        self.genes = tuple(Gene(f"gene {i}", tuple(LETTERS), ordinal=True) for i in range(GENES))

    def encode(self, genotype: Genotype) -> str:
        return "".join(LETTERS[g] for g in self.validate(genotype).genes)

    def decode(self, text: str) -> Genotype:
        if len(text) != GENES or any(c not in LETTERS for c in text):
            raise ArchitectureError(f"a toy architecture is {GENES} letters of {LETTERS!r}, got {text!r}")
        return Genotype(self.name, tuple(LETTERS.index(c) for c in text))
