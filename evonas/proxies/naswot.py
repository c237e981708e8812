"""NASWOT: how differently the untrained network's ReLUs respond to the images of a batch.

Mellor et al., "Neural Architecture Search without Training" (ICML 2021).
"""

from __future__ import annotations

import torch
from torch import nn

from evonas.proxies import Batch
from evonas.proxies.layers import working_copy


def naswot(network: nn.Module, batch: Batch) -> float:
    """``log |det K|`` of the batch's activation-pattern kernel.

    Each image gets a binary code: which units of every ReLU are active. ``K[i, j]`` is the number
    of units on which images ``i`` and ``j`` agree (the code length minus their Hamming distance).
    Networks that give different images more distinct codes score higher; identical codes give a
    singular kernel and ``-inf``. Runs a copy of the network in training mode (BatchNorm on batch
    statistics, as at the start of training).

    Mellor et al., "Neural Architecture Search without Training" (ICML 2021).
    """
    model = working_copy(network).train()
    n = len(batch.inputs)
    kernel = torch.zeros((n, n), dtype=torch.float64)

    def add_codes(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        active = (output > 0).flatten(1).float()
        kernel.add_((active @ active.T + (1 - active) @ (1 - active).T).double())

    hooks = [m.register_forward_hook(add_codes) for m in model.modules() if isinstance(m, nn.ReLU)]
    try:
        with torch.no_grad():
            model(batch.inputs)
    finally:
        for hook in hooks:
            hook.remove()
    return float(torch.linalg.slogdet(kernel).logabsdet)
