"""Zero-cost proxies: scores of an untrained network that predict how well it will train.

Every proxy is a function ``proxy(network, batch) -> float`` in a module of its own, registered in
`PROXIES`. Convention: a higher score predicts a higher accuracy (so ``params`` and ``flops`` score
bigger networks higher). A network that carries no signal (no path from input to output, constant
activations) scores ``-inf``, which the search treats as a failed measurement.

Proxies never change the network they are given: those that alter weights, gradients or BatchNorm
statistics work on a copy. They draw no random numbers: the network's initial weights and the batch
carry all the randomness, and the caller draws both (see `evonas.proxies.scorer`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from evonas.registry import Registry

if TYPE_CHECKING:
    import torch

__all__ = ["DATA_FREE", "PROXIES", "Batch"]

PROXIES = Registry(
    "proxy",
    {
        "synflow": "evonas.proxies.synflow:synflow",
        "params": "evonas.proxies.size:params",
        "flops": "evonas.proxies.size:flops",
        "naswot": "evonas.proxies.naswot:naswot",
        "jacob_cov": "evonas.proxies.jacob_cov:jacob_cov",
        "grad_norm": "evonas.proxies.gradient:grad_norm",
        "snip": "evonas.proxies.gradient:snip",
    },
)
# Proxies that read only the batch's shape, never its values or labels.
DATA_FREE = frozenset({"synflow", "params", "flops"})


@dataclass(frozen=True)
class Batch:
    """What a proxy may look at besides the network.

    Attributes:
        inputs: images ``(N, C, H, W)``; data-free proxies use only their shape.
        targets: class labels ``(N,)`` (int64).
    """

    inputs: torch.Tensor
    targets: torch.Tensor
