"""Deterministic construction of networks: built without weights, then initialised from a torch.Generator.

Torch modules initialise themselves from torch's global random state when constructed; evonas builds
them on the ``meta`` device (no memory, no draws) and initialises them from the generator it is
given, so a network's weights depend on its arguments alone and nothing global is touched.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

DEFAULT_SEED = 0


def initialise(network: nn.Module, generator: torch.Generator) -> nn.Module:
    """Sets every weight of ``network`` in place and returns it.

    Convolutions: He normal (fan out); linear layers: normal with std 0.01 and zero bias;
    BatchNorm: weight 1, bias 0, fresh running statistics. Draws from ``generator`` in module order.
    """
    for module in network.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu", generator=generator)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=0.01, generator=generator)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            module.reset_parameters()
    return network


def construct(factory: Callable[[], nn.Module], generator: torch.Generator | None = None) -> nn.Module:
    """The network ``factory()`` builds, on the CPU, initialised from ``generator``.

    Args:
        factory: builds the network's modules (called under the ``meta`` device).
        generator: source of the initial weights; None means a generator seeded with `DEFAULT_SEED`,
            so that a network built twice with the same arguments has the same weights.
    """
    if generator is None:
        generator = torch.Generator().manual_seed(DEFAULT_SEED)
    with torch.device("meta"):
        network = factory()
    return initialise(network.to_empty(device="cpu"), generator)
