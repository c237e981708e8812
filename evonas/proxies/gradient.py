"""Proxies from the gradient of the cross-entropy loss on one batch: ``grad_norm`` and ``snip``.

Both as defined by Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS" (ICLR 2021); ``snip``
is the connection sensitivity of Lee et al., "SNIP: Single-shot Network Pruning based on Connection
Sensitivity" (ICLR 2019), summed over the network.
"""

from __future__ import annotations

import torch
from torch import nn

from evonas.proxies import Batch
from evonas.proxies.layers import scored_weights, working_copy


def grad_norm(network: nn.Module, batch: Batch) -> float:
    """Sum over convolution and linear layers of the Euclidean norm of the weights' loss gradient.

    Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS" (ICLR 2021).
    """
    weights = _loss_gradients(network, batch)
    with torch.no_grad():
        return float(sum(w.grad.norm() for w in weights))


def snip(network: nn.Module, batch: Batch) -> float:
    """Sum over convolution and linear weights of ``|w * dL/dw|``, the loss's sensitivity to each connection.

    Lee et al., "SNIP: Single-shot Network Pruning based on Connection Sensitivity" (ICLR 2019),
    summed over the network as in Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS" (ICLR 2021).
    """
    weights = _loss_gradients(network, batch)
    with torch.no_grad():
        return float(sum((w * w.grad).abs().sum() for w in weights))


def _loss_gradients(network: nn.Module, batch: Batch) -> list[nn.Parameter]:
    """The scored weights of a copy of ``network`` (training mode) after backpropagating the batch's loss.

    Weights that the loss does not reach (an operation cut off from the output) get zero gradients.
    """
    model = working_copy(network).train()
    nn.functional.cross_entropy(model(batch.inputs), batch.targets).backward()
    weights = list(scored_weights(model))
    for w in weights:
        if w.grad is None:
            w.grad = torch.zeros_like(w)
    return weights
