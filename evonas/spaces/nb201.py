"""NAS-Bench-201: a cell of 4 nodes, each of its 6 edges one of 5 operations (15,625 cells)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from evonas.errors import ArchitectureError
from evonas.genotype import Genotype
from evonas.spaces.base import Gene, SearchSpace

OPERATIONS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
# (target node, source node) of each edge, in the order of the official arch string.
EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
NONE = OPERATIONS.index("none")
if TYPE_CHECKING:
    from torch import nn

_TOKEN = re.compile(r"^([a-z0-9_]+)~(\d+)$")


class NB201Space(SearchSpace):
    """NAS-Bench-201's cell space; the canonical string is the official arch string.

    ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``: one group per target node 1..3, listing the
    operation on the edge from each earlier node ``~k``. ``build`` gives the published network
    (see `evonas.networks.nb201`).
    """

    name = "nb201"
    description = "NAS-Bench-201 cell: 6 edges x 5 operations"

    def __init__(self) -> None:
        self.genes = tuple(Gene(f"edge {t}<-{s}", OPERATIONS) for t, s in EDGES)
        self._canonical: dict[Genotype, Genotype] = {}  # at most one entry per cell (15,625)

    def canonical(self, genotype: Genotype) -> Genotype:
        """``genotype`` with every edge that computes nothing set to ``none``.

        An edge computes nothing when no path of operations other than ``none`` leads from the
        cell's input to its source, or from its target to the cell's output: its source is zero
        (and every operation of zero is zero, BatchNorm shifts being zero as initialised) or its
        result reaches nothing. This maps the 15,625 cells onto 9,445 functions.
        """
        if genotype not in self._canonical:
            self._canonical[genotype] = self._prune(genotype)
        return self._canonical[genotype]

    def _prune(self, genotype: Genotype) -> Genotype:
        live = [g != NONE for g in genotype.genes]
        reached = {0}
        for e, (target, source) in enumerate(EDGES):  # sources precede targets in EDGES order
            if live[e] and source in reached:
                reached.add(target)
        reaching = {3}
        for e in reversed(range(len(EDGES))):
            target, source = EDGES[e]
            if live[e] and target in reaching:
                reaching.add(source)
        genes = tuple(g if live[e] and EDGES[e][1] in reached and EDGES[e][0] in reaching else NONE
                      for e, g in enumerate(genotype.genes))
        return genotype if genes == genotype.genes else Genotype(self.name, genes)

    def encode(self, genotype: Genotype) -> str:
        self.validate(genotype)
        ops = [OPERATIONS[g] for g in genotype.genes]
        groups, position = [], 0
        for target in (1, 2, 3):
            groups.append("|" + "|".join(f"{ops[position + s]}~{s}" for s in range(target)) + "|")
            position += target
        return "+".join(groups)

    def decode(self, text: str) -> Genotype:
        groups = text.strip().split("+")
        if len(groups) != 3:
            raise ArchitectureError(f"not a NAS-Bench-201 arch string (need 3 '+'-separated nodes): {text!r}")
        genes = []
        for target, group in enumerate(groups, start=1):
            if not (group.startswith("|") and group.endswith("|")):
                raise ArchitectureError(f"node {target} of {text!r} is not enclosed in '|'")
            tokens = group[1:-1].split("|")
            if len(tokens) != target:
                raise ArchitectureError(f"node {target} of {text!r} needs {target} edges, has {len(tokens)}")
            for source, token in enumerate(tokens):
                match = _TOKEN.match(token)
                if not match or int(match.group(2)) != source:
                    raise ArchitectureError(f"edge {token!r} of {text!r} should read 'op~{source}'")
                if match.group(1) not in OPERATIONS:
                    raise ArchitectureError(f"unknown operation {match.group(1)!r} in {text!r}; known: {', '.join(OPERATIONS)}")
                genes.append(OPERATIONS.index(match.group(1)))
        return Genotype(self.name, tuple(genes))

    def network(self, genes: Sequence[int] | None, *, num_classes: int, in_channels: int, image_size: int, **options: Any) -> nn.Module:
        from evonas.networks.nb201 import NB201Network

        return NB201Network(genes, num_classes=num_classes, in_channels=in_channels, **options)
