"""Size proxies: parameter count and FLOPs, the baselines every zero-cost proxy is compared with.

Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS" (ICLR 2021), report both beside the
gradient-based proxies: on NAS-Bench-201 bigger networks tend to be more accurate.
"""

from __future__ import annotations

from torch import nn

from evonas.measure.size import count_flops, count_params
from evonas.proxies import Batch


def params(network: nn.Module, batch: Batch) -> float:
    """Number of trainable parameters (higher: bigger network); the batch is not used.

    A baseline of Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS" (ICLR 2021).
    """
    return float(count_params(network))


def flops(network: nn.Module, batch: Batch) -> float:
    """FLOPs of one forward pass on one input of the batch's shape (torch's counter, see `count_flops`).

    A baseline of Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS" (ICLR 2021).
    """
    return float(count_flops(network, (1, *batch.inputs.shape[1:])))
