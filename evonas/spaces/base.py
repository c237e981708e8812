"""The `SearchSpace` base: genes with named choices, sampling, encoding and validation."""

from __future__ import annotations

import abc
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from evonas.errors import ArchitectureError
from evonas.genotype import Genotype

if TYPE_CHECKING:
    import torch
    from torch import nn

    from evonas.networks.supernet import Supernet


@dataclass(frozen=True)
class Gene:
    """One decision of an architecture.

    Attributes:
        name: what the gene controls ("edge 1<-0", "layer 3").
        choices: the names of its options.
        ordinal: whether the choices are ordered (by capacity), so that neighbours are adjacent.
    """

    name: str
    choices: tuple[str, ...]
    ordinal: bool = False

    def __len__(self) -> int:
        return len(self.choices)


class SearchSpace(abc.ABC):
    """A set of architectures, each a `Genotype` with one choice per gene.

    Subclasses set ``name``, ``description`` and ``genes`` and implement ``encode``/``decode`` for
    the space's canonical string, and ``network`` for its torch network; ``build`` gives the
    stand-alone network of a genotype and ``build_supernet`` the weight-sharing one of all.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    genes: tuple[Gene, ...]
    # Registered "mutation" and "crossover" names that suit the space better than SearchOptions' defaults.
    default_operators: ClassVar[dict[str, str]] = {}

    @property
    def size(self) -> int:
        """Number of distinct genotypes."""
        return math.prod(len(g) for g in self.genes)

    @property
    def cardinalities(self) -> np.ndarray:
        return np.array([len(g) for g in self.genes], dtype=np.int64)

    def sample(self, rng: np.random.Generator) -> Genotype:
        """A uniformly random genotype; draws one integer per gene from ``rng``."""
        return Genotype(self.name, tuple(int(rng.integers(len(g))) for g in self.genes))

    def validate(self, genotype: Genotype) -> Genotype:
        """Returns ``genotype`` unchanged, or raises `ArchitectureError` if it is not of this space."""
        if genotype.space != self.name:
            raise ArchitectureError(f"genotype of space {genotype.space!r} given to space {self.name!r}")
        if len(genotype.genes) != len(self.genes):
            raise ArchitectureError(
                f"{self.name} genotypes have {len(self.genes)} genes, got {len(genotype.genes)}: {genotype.genes}"
            )
        for gene, value in zip(self.genes, genotype.genes):
            if not 0 <= value < len(gene):
                raise ArchitectureError(f"{gene.name}: choice {value} outside 0..{len(gene) - 1}")
        return genotype

    def make(self, genes: Any) -> Genotype:
        """A validated genotype of this space from a sequence of choice indices."""
        return self.validate(Genotype(self.name, tuple(int(g) for g in genes)))

    def index(self, genotype: Genotype) -> int:
        """The genotype's position in the mixed-radix enumeration of the space (first gene slowest)."""
        position = 0
        for gene, value in zip(self.genes, genotype.genes):
            position = position * len(gene) + value
        return position

    def from_index(self, position: int) -> Genotype:
        """Inverse of `index`."""
        if not 0 <= position < self.size:
            raise ArchitectureError(f"index {position} outside 0..{self.size - 1}")
        genes = []
        for gene in reversed(self.genes):
            position, value = divmod(position, len(gene))
            genes.append(value)
        return Genotype(self.name, tuple(reversed(genes)))

    def neighbours(self, genotype: Genotype, *, adjacent_only: bool = False) -> Iterator[Genotype]:
        """Every genotype that differs from ``genotype`` in exactly one gene.

        With ``adjacent_only``, ordinal genes only step to an adjacent choice.
        """
        for i, (gene, value) in enumerate(zip(self.genes, genotype.genes)):
            if adjacent_only and gene.ordinal:
                options = [v for v in (value - 1, value + 1) if 0 <= v < len(gene)]
            else:
                options = [v for v in range(len(gene)) if v != value]
            for v in options:
                yield genotype.replace(i, v)

    def canonical(self, genotype: Genotype) -> Genotype:
        """The representative of the genotypes that compute the same function as ``genotype``.

        Genotypes with equal canonical forms build networks with identical outputs given the same
        weights; a search evaluates one genotype of each such class. The genotype itself by default
        (a space that declares no equivalences); `evonas.spaces.surgery` makes unused slots copy a
        stage's last layer, `evonas.spaces.nb201` sets edges that compute nothing to ``none``.
        """
        return genotype

    def chosen(self, genotype: Genotype) -> dict[str, Any]:
        """Gene name -> the option ``genotype`` chooses for it (the choice's name; a space defined in Python
        gives the value it was defined with)."""
        self.validate(genotype)
        return {gene.name: gene.choices[value] for gene, value in zip(self.genes, genotype.genes)}

    def definition(self) -> dict[str, Any] | None:
        """What ``run.json`` records of a space defined in code (`evonas.Space`), so that a run reopened with a
        different definition under the same name is refused; None for a registered space (its name says it)."""
        return None

    @abc.abstractmethod
    def encode(self, genotype: Genotype) -> str:
        """The canonical string of a genotype."""

    @abc.abstractmethod
    def decode(self, text: str) -> Genotype:
        """The genotype of a canonical string; raises `ArchitectureError` naming what is wrong."""

    def network(self, genes: Sequence[int] | None, *, num_classes: int, in_channels: int, image_size: int, **options: Any) -> nn.Module:
        """The space's torch network for ``genes``, or its supernet (a `Choice` at every decision) for None.

        Called by `build` and `build_supernet`, which initialise the weights; ``options`` are the
        space's width and depth settings.
        """
        raise NotImplementedError(f"space {self.name!r} does not build networks")

    def build(
        self,
        genotype: Genotype,
        *,
        num_classes: int,
        in_channels: int,
        image_size: int,
        generator: torch.Generator | None = None,
        **options: Any,
    ) -> nn.Module:
        """A stand-alone torch network of ``genotype`` for images of the given shape.

        Args:
            genotype: the architecture.
            num_classes: outputs of the classifier.
            in_channels: channels of the input images.
            image_size: height (= width) of the input images.
            generator: source of the initial weights; None is a generator seeded with 0, so the
                same arguments always give the same network.
            **options: widths and depths of the space's network (its published values by default).
        """
        from evonas.networks.initialisation import construct

        self.validate(genotype)
        shape = {"num_classes": num_classes, "in_channels": in_channels, "image_size": image_size}
        return construct(lambda: self.network(genotype.genes, **shape, **options), generator)

    def build_supernet(
        self, *, num_classes: int, in_channels: int, image_size: int, generator: torch.Generator | None = None, **options: Any
    ) -> Supernet:
        """The weight-sharing network of every genotype; arguments as for `build`."""
        from evonas.networks.initialisation import construct
        from evonas.networks.supernet import Supernet

        build_options = {"num_classes": num_classes, "in_channels": in_channels, "image_size": image_size, **options}
        return Supernet(self, construct(lambda: self.network(None, **build_options), generator), build_options)
