"""Network surgery: a child network of the surgery space built from its parent's trained weights.

The transfer works on any pair of genotypes, whatever edit (or crossover, or resampling) made the
child: each stage's layers are aligned with the parent's by an edit distance (a layer kept, changed,
inserted or removed), and every child layer takes its weights from the parent layer it is aligned
with. Channels are tracked through the network as the parent channel each child channel copies:

- a wider layer replicates parent units (Net2WiderNet, Chen et al., 2016, "Net2Net"): the extra
  units copy randomly chosen ones, with their BatchNorm, and the next layer (or the classifier)
  splits each unit's outgoing weights among its copies in random proportions that sum to 1, which
  preserves the function exactly and breaks the copies' symmetry;
- an inserted layer starts as the identity (Net2DeeperNet): a centred one-hot kernel, BatchNorm
  with weight 1, bias 0, running mean 0 and running variance 1 - eps; every layer reads a ReLU's
  output, so the layer's own ReLU changes nothing;
- a larger kernel is the old one zero-padded around its centre.

These are function-preserving: in eval mode the child computes what its parent computed. The lossy
edits give a valid network to train further: a narrower layer keeps the units with the largest
BatchNorm scale ``|gamma|`` (the unit's output magnitude, as in network slimming, Liu et al., 2017);
a smaller kernel keeps the centre of the old one; a removed layer leaves its successor to read
channels it was not trained on, index for index. `Surgery.exact` says whether the child is exact.

The same plan carries the optimiser's per-parameter state (SGD momentum) across, with zeros for an
inserted layer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from evonas.genotype import Genotype
from evonas.spaces.surgery import Layers, SurgerySpace

INSERT_COST = 1.5  # of an inserted or removed layer; changing a width or a kernel costs 1 each
SPLIT_NOISE = 0.2  # spread of the random proportions in which copies of a unit share its outgoing weights


@dataclass(frozen=True)
class LayerPlan:
    """Where one child layer's weights come from.

    Attributes:
        key: the child layer's name (``stages.S.L``).
        source: the parent layer's name, or None for an inserted (identity) layer.
        inputs: per child input channel, the parent channel it copies.
        shares: per child input channel, its part of that parent channel's outgoing weights.
        outputs: per child output channel, the parent unit it copies.
        kernel: the child's kernel size.
    """

    key: str
    source: str | None
    inputs: tuple[int, ...]
    shares: tuple[float, ...]
    outputs: tuple[int, ...]
    kernel: int


@dataclass(frozen=True)
class Surgery:
    """The whole child: its layers' plans, the classifier's inputs, and whether the child is exact."""

    layers: tuple[LayerPlan, ...]
    head_inputs: tuple[int, ...]
    head_shares: tuple[float, ...]
    exact: bool


def align(parent: Sequence[tuple[int, int]], child: Sequence[tuple[int, int]]) -> list[tuple[int | None, int | None]]:
    """The cheapest alignment of two stages' layers: ``(parent index, child index)`` pairs in order, None
    on the side of an inserted (parent None) or removed (child None) layer. Ties prefer keeping a layer."""
    n, m = len(parent), len(child)
    cost = [[0.0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        for j in range(m + 1):
            if i == j == 0:
                continue
            options = []
            if i and j:
                change = (parent[i - 1][0] != child[j - 1][0]) + (parent[i - 1][1] != child[j - 1][1])
                options.append(cost[i - 1][j - 1] + change)
            if j:
                options.append(cost[i][j - 1] + INSERT_COST)
            if i:
                options.append(cost[i - 1][j] + INSERT_COST)
            cost[i][j] = min(options)
    pairs: list[tuple[int | None, int | None]] = []
    i, j = n, m
    while i or j:
        if i and j:
            change = (parent[i - 1][0] != child[j - 1][0]) + (parent[i - 1][1] != child[j - 1][1])
            if cost[i][j] == cost[i - 1][j - 1] + change:
                pairs.append((i - 1, j - 1))
                i, j = i - 1, j - 1
                continue
        if j and cost[i][j] == cost[i][j - 1] + INSERT_COST:
            pairs.append((None, j - 1))
            j -= 1
        else:
            pairs.append((i - 1, None))
            i -= 1
    return pairs[::-1]


def _shares(channels: Sequence[int], generator: torch.Generator) -> tuple[float, ...]:
    """Random proportions, summing to 1 over the copies of each parent channel (1 for a single copy)."""
    shares = [1.0] * len(channels)
    groups: dict[int, list[int]] = {}
    for i, c in enumerate(channels):
        groups.setdefault(c, []).append(i)
    for members in groups.values():
        if len(members) > 1:
            weights = 1.0 + SPLIT_NOISE * (torch.rand(len(members), generator=generator, dtype=torch.float64) - 0.5)
            for i, w in zip(members, (weights / weights.sum()).tolist()):
                shares[i] = w
    return tuple(shares)


def _widen(units: Sequence[int], width: int, generator: torch.Generator) -> tuple[int, ...]:
    """``units`` then ``width - len(units)`` copies of randomly chosen ones (Net2WiderNet's mapping)."""
    extra = torch.randint(len(units), (max(width - len(units), 0),), generator=generator).tolist()
    return tuple(units[:width]) + tuple(units[i] for i in extra)


def plan_surgery(
    parent: Layers, child: Layers, parent_state: Mapping[str, torch.Tensor], stem_channels: int, generator: torch.Generator
) -> Surgery:
    """Where each of the child's weights comes from; draws the copied units and the shares from ``generator``.

    Args:
        parent, child: the two networks' layers (`evonas.spaces.surgery.SurgerySpace.layers`).
        parent_state: the parent network's state dict (BatchNorm scales choose the units a narrower layer keeps).
        stem_channels: width of the stem (the same in both networks).
        generator: source of the replicated units and the splits.
    """
    exact = True
    current: tuple[int, ...] = tuple(range(stem_channels))  # parent channel of each channel of the child's features
    point = -1  # the parent layer (numbered across stages; -1 the stem) whose output those channels copy
    widths_before = [stem_channels]  # parent layer g reads widths_before[g] channels
    offsets = []
    for stage in parent:
        offsets.append(len(widths_before) - 1)
        widths_before += [w for w, _ in stage]
    plans = []
    for s, (parent_stage, child_stage) in enumerate(zip(parent, child)):
        for p, c in align(parent_stage, child_stage):
            if c is None:  # a removed layer
                exact = False
                continue
            width, kernel = child_stage[c]
            key = f"stages.{s}.{c}"
            if p is None:  # an inserted layer: the identity on the features it reads
                outputs = _widen(current, width, generator)
                exact &= set(outputs) == set(current)
                plans.append(LayerPlan(key, None, current, _shares(current, generator), outputs, kernel))
            else:
                g = offsets[s] + p
                parent_in, (parent_width, parent_kernel) = widths_before[g], parent_stage[p]
                inputs = current if point == g - 1 else tuple(i % parent_in for i in range(len(current)))
                exact &= point == g - 1 and set(inputs) == set(range(parent_in)) and kernel >= parent_kernel
                source = f"stages.{s}.{p}"
                if width >= parent_width:
                    outputs = _widen(tuple(range(parent_width)), width, generator)
                else:
                    scale = parent_state[f"{source}.1.weight"].abs()
                    outputs = tuple(sorted(torch.argsort(scale, descending=True, stable=True)[:width].tolist()))
                    exact = False
                plans.append(LayerPlan(key, source, inputs, _shares(inputs, generator), outputs, kernel))
                point = g
            current = plans[-1].outputs
    last = len(widths_before) - 2
    head_inputs = current if point == last else tuple(i % widths_before[-1] for i in range(len(current)))
    exact &= point == last and set(head_inputs) == set(range(widths_before[-1]))
    return Surgery(tuple(plans), head_inputs, _shares(head_inputs, generator), exact)


def _resize_kernel(weight: torch.Tensor, kernel: int) -> torch.Tensor:
    """Zero-pads (larger) or crops (smaller) a convolution's kernels around their centre."""
    old = weight.shape[-1]
    if kernel >= old:
        pad = (kernel - old) // 2
        return torch.nn.functional.pad(weight, (pad, pad, pad, pad))
    cut = (old - kernel) // 2
    return weight[..., cut : cut + kernel, cut : cut + kernel]


def transfer_tensors(
    surgery: Surgery, parent: Mapping[str, torch.Tensor], template: Mapping[str, torch.Tensor], *, identity: bool, eps: float = 1e-5
) -> dict[str, torch.Tensor]:
    """The child's tensors for every name of ``template`` (the child's state dict, or its parameters' optimiser
    state), from the parent's tensors of the same kind.

    ``identity``: an inserted layer's weights are the identity (weights) rather than zeros (optimiser state).
    """
    out: dict[str, torch.Tensor] = {}
    by_key = {plan.key: plan for plan in surgery.layers}
    for name, like in template.items():
        prefix, _, leaf = name.rpartition(".")
        if name.startswith("stem."):
            out[name] = parent[name].clone()
            continue
        if name.startswith("head."):
            inputs, shares = list(surgery.head_inputs), torch.tensor(surgery.head_shares, dtype=like.dtype)
            out[name] = parent[name][:, inputs] * shares if leaf == "weight" else parent[name].clone()
            continue
        layer, part = prefix.rpartition(".")[0], prefix.rpartition(".")[2]
        plan = by_key[layer]
        if plan.source is None:
            out[name] = _new_tensor(plan, part, leaf, like, identity, eps)
            continue
        source = parent[f"{plan.source}.{part}.{leaf}"]
        if part == "0":  # the convolution
            shares = torch.tensor(plan.shares, dtype=like.dtype)[None, :, None, None]
            out[name] = _resize_kernel(source[list(plan.outputs)][:, list(plan.inputs)] * shares, plan.kernel)
        elif leaf == "num_batches_tracked":
            out[name] = source.clone()
        else:  # BatchNorm: one value per unit
            out[name] = source[list(plan.outputs)].clone()
    return out


def _new_tensor(plan: LayerPlan, part: str, leaf: str, like: torch.Tensor, identity: bool, eps: float) -> torch.Tensor:
    """A tensor of an inserted layer: the identity's (or zeros)."""
    if not identity or leaf in ("bias", "running_mean", "num_batches_tracked"):
        return torch.zeros_like(like)
    if part == "1":  # BatchNorm weight 1, running variance 1 - eps: y = x
        return torch.full_like(like, 1.0 - eps) if leaf == "running_var" else torch.ones_like(like)
    weight = torch.zeros_like(like)
    centre = plan.kernel // 2
    for o, unit in enumerate(plan.outputs):
        for i, (channel, share) in enumerate(zip(plan.inputs, plan.shares)):
            if channel == unit:
                weight[o, i, centre, centre] = share
    return weight


def operate(
    space: SurgerySpace,
    parent: Genotype,
    parent_state: Mapping[str, torch.Tensor],
    child: Genotype,
    build_options: Mapping[str, Any],
    generator: torch.Generator,
) -> tuple[nn.Module, Surgery]:
    """The child network carrying its parent's weights, and the plan that made it (see `plan_surgery`)."""
    network = space.build(child, **build_options)
    stem_channels = parent_state["stem.0.weight"].shape[0]
    surgery = plan_surgery(space.layers(parent), space.layers(child), parent_state, stem_channels, generator)
    network.load_state_dict(transfer_tensors(surgery, parent_state, network.state_dict(), identity=True))
    return network, surgery
