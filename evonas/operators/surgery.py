"""Network-surgery edits of the surgery space, as pure operators on genotypes.

Each edit names what it does to the network; `evonas.networks.transfer` carries the parent's
weights across: ``deepen``, ``widen`` and ``grow-kernel`` preserve the parent's function, ``remove-layer``
and ``narrow`` lose some of it (the child trains longer to recover). ``edit`` makes one edit of a
kind drawn uniformly among those the genotype allows; ``layers`` crosses two networks stage by stage,
whole layers with their weights' origin. Every result is canonical (`SurgerySpace.canonical`); an
edit the genotype does not allow (widening where every layer is widest) returns it unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from evonas.errors import ConfigError
from evonas.genotype import Genotype
from evonas.spaces.base import SearchSpace
from evonas.spaces.surgery import KERNELS, MAX_DEPTH, WIDTHS, SurgerySpace

Stages = list[list[tuple[int, int]]]


def _stages(space: SearchSpace, genotype: Genotype) -> Stages:
    if not isinstance(space, SurgerySpace):
        raise ConfigError(f"network-surgery operators work on the surgery space, not {space.name!r}")
    return [list(stage) for stage in space.layers(genotype)]


def _pick(options: list, rng: np.random.Generator):
    return options[int(rng.integers(len(options)))]


def _deepen_places(stages: Stages) -> list[tuple[int, int, int, int]]:
    """(stage, position, width, kernel) of each layer that can be inserted: kernel 3, as wide as the features it
    reads (so it starts as the identity; the stem's are taken as the narrowest width)."""
    places = []
    for s, stage in enumerate(stages):
        if len(stage) < MAX_DEPTH:
            for i in range(len(stage) + 1):
                width = stage[i - 1][0] if i else stages[s - 1][-1][0] if s else WIDTHS[0]
                places.append((s, i, width, KERNELS[1]))
    return places


def _step_places(stages: Stages, choices: tuple[int, ...], field: int, step: int) -> list[tuple[int, int, int, int]]:
    """(stage, position, width, kernel) of each layer with its width (field 0) or kernel (field 1) one choice along."""
    places = []
    for s, stage in enumerate(stages):
        for i, layer in enumerate(stage):
            j = choices.index(layer[field]) + step
            if 0 <= j < len(choices):
                changed = list(layer)
                changed[field] = choices[j]
                places.append((s, i, changed[0], changed[1]))
    return places


def _remove_places(stages: Stages) -> list[tuple[int, int]]:
    return [(s, i) for s, stage in enumerate(stages) if len(stage) > 1 for i in range(len(stage))]


def _insert(stages: Stages, place: tuple[int, int, int, int]) -> None:
    s, i, width, kernel = place
    stages[s].insert(i, (width, kernel))


def _replace(stages: Stages, place: tuple[int, int, int, int]) -> None:
    s, i, width, kernel = place
    stages[s][i] = (width, kernel)


def _delete(stages: Stages, place: tuple[int, int]) -> None:
    del stages[place[0]][place[1]]


# name -> (the places where the edit applies, how it applies at a place)
EDITS: dict[str, tuple[Callable[[Stages], list], Callable[[Stages, Any], None]]] = {
    "deepen": (_deepen_places, _insert),
    "widen": (lambda stages: _step_places(stages, WIDTHS, 0, 1), _replace),
    "grow-kernel": (lambda stages: _step_places(stages, KERNELS, 1, 1), _replace),
    "remove-layer": (_remove_places, _delete),
    "narrow": (lambda stages: _step_places(stages, WIDTHS, 0, -1), _replace),
}
FUNCTION_PRESERVING = ("deepen", "widen", "grow-kernel")


def apply_edit(name: str, genotype: Genotype, space: SearchSpace, rng: np.random.Generator) -> Genotype:
    """The genotype after edit ``name`` at a place drawn uniformly (unchanged if the edit applies nowhere)."""
    stages = _stages(space, genotype)
    places, apply = EDITS[name]
    options = places(stages)
    if options:
        apply(stages, _pick(options, rng))
    return space.from_layers(stages)


def deepen(genotype: Genotype, space: SearchSpace, *, rng: np.random.Generator) -> Genotype:
    """Inserts an identity-initialisable layer at a random place of a stage below the maximum depth."""
    return apply_edit("deepen", genotype, space, rng)


def widen(genotype: Genotype, space: SearchSpace, *, rng: np.random.Generator) -> Genotype:
    """Widens a random layer to the next width."""
    return apply_edit("widen", genotype, space, rng)


def grow_kernel(genotype: Genotype, space: SearchSpace, *, rng: np.random.Generator) -> Genotype:
    """Gives a random layer the next larger kernel."""
    return apply_edit("grow-kernel", genotype, space, rng)


def remove_layer(genotype: Genotype, space: SearchSpace, *, rng: np.random.Generator) -> Genotype:
    """Removes a random layer of a stage with more than one."""
    return apply_edit("remove-layer", genotype, space, rng)


def narrow(genotype: Genotype, space: SearchSpace, *, rng: np.random.Generator) -> Genotype:
    """Narrows a random layer to the next width."""
    return apply_edit("narrow", genotype, space, rng)


def edit_mutation(genotype: Genotype, space: SearchSpace, *, rng: np.random.Generator) -> Genotype:
    """One edit, its kind drawn uniformly among those that change ``genotype``; draws the kind, then the place."""
    stages = _stages(space, genotype)
    kinds = [name for name, (places, _) in EDITS.items() if places(stages)]
    if not kinds:
        return genotype
    return apply_edit(_pick(kinds, rng), genotype, space, rng)


def layer_crossover(a: Genotype, b: Genotype, space: SearchSpace, *, rng: np.random.Generator) -> tuple[Genotype, Genotype]:
    """Swaps whole stages (their layers) between the parents, each with probability 1/2; one uniform per stage."""
    first, second = _stages(space, a), _stages(space, b)
    for s, swap in enumerate(rng.random(len(first)) < 0.5):
        if swap:
            first[s], second[s] = second[s], first[s]
    return space.from_layers(first), space.from_layers(second)
