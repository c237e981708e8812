"""SynFlow: synaptic flow of the network with absolute weights on an all-ones input.

Tanaka et al., "Pruning neural network without any data by iteratively conserving synaptic flow"
(NeurIPS 2020), used as a zero-cost proxy by Abdelfattah et al., "Zero-Cost Proxies for Lightweight
NAS" (ICLR 2021).
"""

from __future__ import annotations

import torch
from torch import nn

from evonas.proxies import Batch
from evonas.proxies.layers import scored_weights, working_copy


def synflow(network: nn.Module, batch: Batch) -> float:
    """Sum over convolution and linear weights of ``|w| * dR/d|w|``, ``R`` the sum of the outputs.

    Data-free: a copy of the network with every weight replaced by its absolute value, BatchNorm
    left out (each BatchNorm becomes the identity), in double precision (the score is a product
    over layers and overflows single precision), is run on one all-ones input of the batch's
    image shape. Only the batch's shape is read.

    Tanaka et al., "Pruning neural networks without any data by iteratively conserving synaptic
    flow" (NeurIPS 2020); as a NAS proxy, Abdelfattah et al., "Zero-Cost Proxies for Lightweight
    NAS" (ICLR 2021).
    """
    model = working_copy(network)
    _remove_batchnorm(model)
    model.double().eval()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.abs_()
    model(torch.ones((1, *batch.inputs.shape[1:]), dtype=torch.float64)).sum().backward()
    with torch.no_grad():
        return float(sum((w * w.grad).sum() for w in scored_weights(model) if w.grad is not None))


def _remove_batchnorm(model: nn.Module) -> None:
    for module in list(model.modules()):
        for name, child in module.named_children():
            if isinstance(child, nn.modules.batchnorm._BatchNorm):
                setattr(module, name, nn.Identity())
