"""The weight-sharing supernet: every choice of every gene in one network; a genotype selects a path.

A space's network builder puts a `Choice` wherever a stand-alone network would hold the block a
gene selects, and the same block classes inside it. A path's parameters therefore carry the
stand-alone network's names with the ``options.<k>`` step removed, which is all `Supernet.subnet`
needs to hand them to a network built by ``space.build``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from evonas.genotype import Genotype

if TYPE_CHECKING:
    from evonas.spaces.base import SearchSpace


class Choice(nn.Module):
    """The candidate blocks of one decision; the ``active`` one computes the output.

    Args:
        gene: index of the gene whose value selects the block.
        options: one block per choice of the gene, in the gene's order.
    """

    def __init__(self, gene: int, options: Sequence[nn.Module]) -> None:
        super().__init__()
        self.gene = gene
        self.options = nn.ModuleList(options)
        self.active = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.options[self.active](x)


def decision(gene: int, genes: Sequence[int] | None, options: Sequence[Callable[[], nn.Module]]) -> nn.Module:
    """The block that ``genes`` selects for ``gene``; with ``genes`` None (a supernet), a `Choice` of them all.

    Args:
        gene: index of the gene.
        genes: a genotype's choices, or None.
        options: one constructor per choice of the gene.
    """
    if genes is None:
        return Choice(gene, [make() for make in options])
    return options[genes[gene]]()


class Supernet(nn.Module):
    """A network of a space with a `Choice` at every decision, shared by all the space's genotypes.

    Build it with ``space.build_supernet(...)``. `select` sets the path that ``forward`` runs.

    Args:
        space: the search space.
        network: the space's network holding `Choice` layers.
        build_options: the keyword arguments of ``space.build`` that give a path's stand-alone
            network (classes, channels, image size, widths).
    """

    def __init__(self, space: SearchSpace, network: nn.Module, build_options: dict[str, Any]) -> None:
        super().__init__()
        self.space = space
        self.network = network
        self.build_options = dict(build_options)
        self.choices = [m for m in network.modules() if isinstance(m, Choice)]
        self.path: Genotype | None = None

    def select(self, genotype: Genotype) -> Supernet:
        """Makes ``forward`` run ``genotype``'s path; returns the supernet."""
        self.space.validate(genotype)
        for choice in self.choices:
            choice.active = genotype.genes[choice.gene]
        self.path = genotype
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.path is None:
            raise RuntimeError("select a path with Supernet.select(genotype) before running the supernet")
        return self.network(x)

    def path_state_dict(self, genotype: Genotype) -> dict[str, torch.Tensor]:
        """The parameters and buffers of ``genotype``'s path under the stand-alone network's names."""
        self.select(genotype)
        state: dict[str, torch.Tensor] = {}
        _collect_state(self.network, "", state)
        return state

    def subnet(self, genotype: Genotype) -> nn.Module:
        """A stand-alone network of ``genotype`` (what ``space.build`` returns) carrying the path's weights."""
        network = self.space.build(genotype, **self.build_options)
        network.load_state_dict(self.path_state_dict(genotype), strict=True)
        return network


def _collect_state(module: nn.Module, prefix: str, out: dict[str, torch.Tensor]) -> None:
    if isinstance(module, Choice):
        _collect_state(module.options[module.active], prefix, out)
        return
    for name, tensor in (*module.named_parameters(recurse=False), *module.named_buffers(recurse=False)):
        out[prefix + name] = tensor.detach()
    for name, child in module.named_children():
        _collect_state(child, f"{prefix}{name}.", out)
