"""What the proxies share: the copy of a network they work on, and the weights the gradient-based ones sum over."""

from __future__ import annotations

import copy
from collections.abc import Iterator

from torch import nn


def working_copy(network: nn.Module) -> nn.Module:
    """A deep copy of ``network`` without gradients: what a proxy may change without leaking to its caller."""
    model = copy.deepcopy(network)
    model.zero_grad(set_to_none=True)
    return model


def scored_weights(network: nn.Module) -> Iterator[nn.Parameter]:
    """The weight tensors of every convolution and linear layer, in module order.

    These are the layers that pruning-at-initialisation methods score (SNIP, SynFlow) and that the
    zero-cost proxies sum over; biases and BatchNorm parameters are left out.
    """
    for module in network.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            yield module.weight
