"""Jacobian covariance: how uncorrelated the untrained network's input gradients are across a batch.

Mellor et al., "Neural Architecture Search without Training" (arXiv:2006.04647v1, 2020), the score
that Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS" (ICLR 2021), call ``jacob_cov``.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from evonas.proxies import Batch
from evonas.proxies.layers import working_copy

EPSILON = 1e-5  # keeps the score finite for near-zero eigenvalues (the published constant)


def jacob_cov(network: nn.Module, batch: Batch) -> float:
    """``-sum(log(v + k) + 1 / (v + k))`` over the eigenvalues ``v`` of the Jacobians' correlation matrix.

    The Jacobian of an image is the gradient of the sum of the network's outputs with respect to
    that image; the correlation matrix is that of the flattened Jacobians of the batch's images.
    The score is highest when they are uncorrelated (every eigenvalue 1). A network whose Jacobian
    is constant for some image (no path from input to output) scores ``-inf``. Runs a copy of the
    network in training mode.

    Mellor et al., "Neural Architecture Search without Training" (arXiv 2006.04647v1), as used by
    Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS" (ICLR 2021).
    """
    model = working_copy(network).train()
    inputs = batch.inputs.detach().clone().requires_grad_(True)
    model(inputs).sum().backward()
    if inputs.grad is None:
        return -math.inf
    jacobians = inputs.grad.flatten(1).double()
    if bool((jacobians.std(dim=1) == 0).any()):
        return -math.inf
    eigenvalues = torch.linalg.eigvalsh(torch.corrcoef(jacobians))
    return float(-(torch.log(eigenvalues + EPSILON) + 1 / (eigenvalues + EPSILON)).sum())
