"""The surgery space: sequential convolutional networks grown and pruned by network surgery.

A fixed stem (3x3 convolution to ``stem_channels``, BatchNorm, ReLU), then `STAGES` stages of 1 to
`MAX_DEPTH` layers each, 2x2 max pooling between stages, global average pooling and a linear
classifier. Every searchable layer is a ``k x k`` convolution, BatchNorm and ReLU of its own width
and kernel size, so any layer can be inserted as the identity, widened, narrowed, given another
kernel or removed, and its parent's weights carried over (`evonas.networks.transfer`).

Genes, stage by stage: the depth, then a width and a kernel gene for each of the `MAX_DEPTH` slots.
Slots beyond the depth are unused; a *canonical* genotype fills them with a copy of the stage's
last layer, so that deepening a stage by one (a single-gene change, as Pareto local search and
resample mutation make) duplicates its last layer: the function-preserving Net2DeeperNet edit.
Every genotype this space and its operators hand out is canonical (`canonical`).

The canonical string lists the layers as ``WIDTHkKERNEL``, ``-`` between layers and ``|`` between
stages: ``16k3|16k3-32k5|32k1``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from evonas.errors import ArchitectureError
from evonas.genotype import Genotype
from evonas.spaces.base import Gene, SearchSpace

if TYPE_CHECKING:
    from torch import nn

WIDTHS = (8, 16, 24, 32, 48, 64)
KERNELS = (1, 3, 5)
STAGES = 3
MAX_DEPTH = 4
GENES_PER_STAGE = 1 + 2 * MAX_DEPTH
# What `sample` draws from: generation 0 of a surgery run trains small networks and lets surgery grow them.
SAMPLED_WIDTHS = 2  # the narrowest two widths
SAMPLED_KERNELS = (1, 2)  # kernel 3 or 5
_LAYER = re.compile(r"^(\d+)k(\d+)$")

Layers = tuple[tuple[tuple[int, int], ...], ...]  # per stage, per layer: (width, kernel)


class SurgerySpace(SearchSpace):
    """Sequential conv nets of `STAGES` stages, 1..`MAX_DEPTH` layers each, one width and kernel per layer."""

    name = "surgery"
    description = f"sequential conv net: {STAGES} stages x 1-{MAX_DEPTH} layers, width {WIDTHS} x kernel {KERNELS}"
    default_operators = {"mutation": "edit", "crossover": "layers"}  # network-surgery edits (evonas.operators.surgery)

    def __init__(self) -> None:
        genes = []
        for s in range(STAGES):
            genes.append(Gene(f"stage {s} depth", tuple(str(d) for d in range(1, MAX_DEPTH + 1)), ordinal=True))
            for i in range(MAX_DEPTH):
                genes.append(Gene(f"stage {s} layer {i} width", tuple(str(w) for w in WIDTHS), ordinal=True))
                genes.append(Gene(f"stage {s} layer {i} kernel", tuple(str(k) for k in KERNELS), ordinal=True))
        self.genes = tuple(genes)

    # -- genotypes <-> layers ----------------------------------------------------------------
    def layers(self, genotype: Genotype) -> Layers:
        """The network's layers: per stage, ``(width, kernel)`` of each layer in use."""
        self.validate(genotype)
        stages = []
        for s in range(STAGES):
            genes = genotype.genes[s * GENES_PER_STAGE : (s + 1) * GENES_PER_STAGE]
            depth = genes[0] + 1
            stages.append(tuple((WIDTHS[genes[1 + 2 * i]], KERNELS[genes[2 + 2 * i]]) for i in range(depth)))
        return tuple(stages)

    def from_layers(self, layers: Sequence[Sequence[tuple[int, int]]]) -> Genotype:
        """The canonical genotype of ``layers`` (per stage, ``(width, kernel)`` per layer); `ArchitectureError`
        for a stage count, depth, width or kernel outside the space."""
        if len(layers) != STAGES:
            raise ArchitectureError(f"a surgery network has {STAGES} stages, got {len(layers)}")
        genes: list[int] = []
        for s, stage in enumerate(layers):
            if not 1 <= len(stage) <= MAX_DEPTH:
                raise ArchitectureError(f"stage {s} has {len(stage)} layers; allowed 1..{MAX_DEPTH}")
            genes.append(len(stage) - 1)
            for i in range(MAX_DEPTH):
                width, kernel = stage[min(i, len(stage) - 1)]
                if width not in WIDTHS or kernel not in KERNELS:
                    raise ArchitectureError(f"layer {width}k{kernel} of stage {s}: widths {WIDTHS}, kernels {KERNELS}")
                genes += [WIDTHS.index(width), KERNELS.index(kernel)]
        return Genotype(self.name, tuple(genes))

    def canonical(self, genotype: Genotype) -> Genotype:
        """The same network with the unused slots of each stage copying its last layer."""
        return self.from_layers(self.layers(genotype))

    def sample(self, rng: np.random.Generator) -> Genotype:
        """A small random network: one layer per stage, of the two narrowest widths and kernel 3 or 5; draws
        one width and one kernel per stage."""
        layers = []
        for _ in range(STAGES):
            width = WIDTHS[int(rng.integers(SAMPLED_WIDTHS))]
            kernel = KERNELS[SAMPLED_KERNELS[int(rng.integers(len(SAMPLED_KERNELS)))]]
            layers.append(((width, kernel),))
        return self.from_layers(layers)

    # -- strings -----------------------------------------------------------------------------
    def encode(self, genotype: Genotype) -> str:
        return "|".join("-".join(f"{w}k{k}" for w, k in stage) for stage in self.layers(genotype))

    def decode(self, text: str) -> Genotype:
        stages = text.strip().split("|")
        if len(stages) != STAGES:
            raise ArchitectureError(f"not a surgery arch string ({STAGES} '|'-separated stages of WIDTHkKERNEL-...): {text!r}")
        layers = []
        for stage in stages:
            parsed = []
            for token in stage.split("-"):
                match = _LAYER.match(token)
                if not match:
                    raise ArchitectureError(f"layer {token!r} of {text!r} should read WIDTHkKERNEL, e.g. 16k3")
                parsed.append((int(match.group(1)), int(match.group(2))))
            layers.append(parsed)
        return self.from_layers(layers)

    def network(self, genes: Sequence[int] | None, *, num_classes: int, in_channels: int, image_size: int, **options: Any) -> nn.Module:
        from evonas.networks.surgery import SurgeryNetwork

        if genes is None:
            raise ArchitectureError("the surgery space has no supernet: each of its networks lives on its own")
        return SurgeryNetwork(self.layers(Genotype(self.name, tuple(genes))), num_classes=num_classes, in_channels=in_channels, **options)
