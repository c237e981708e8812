from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from evonas.measure.size import count_flops, count_params
from evonas.proxies import DATA_FREE, PROXIES, Batch
from evonas.proxies.scorer import ProxyScorer
from evonas.spaces import get_space

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SMALL_NB201 = {"channels": 4, "cells_per_stage": 1}
ALL_CONV = "|nor_conv_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|"
DISCONNECTED = "|none~0|+|none~0|avg_pool_3x3~1|+|none~0|nor_conv_3x3~1|none~2|"  # node 0 reaches nothing


def nb201(arch=ALL_CONV, seed=0, in_channels=1, image_size=8):
    space = get_space("nb201")
    return space.build(space.decode(arch), num_classes=4, in_channels=in_channels, image_size=image_size,
                       generator=torch.Generator().manual_seed(seed), **SMALL_NB201)


def random_batch(n=8, shape=(1, 8, 8), classes=4, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return Batch(torch.randn((n, *shape), generator=generator), torch.randint(classes, (n,), generator=generator))


def two_layer(d_in=4, hidden=3, d_out=2, seed=0, bias=False, batchnorm=False):
    torch.manual_seed(seed)  # tests only: these small reference networks are not library code
    layers = [nn.Flatten(), nn.Linear(d_in, hidden, bias=bias)]
    if batchnorm:
        layers.append(nn.BatchNorm1d(hidden))
    return nn.Sequential(*layers, nn.ReLU(), nn.Linear(hidden, d_out, bias=bias))


def test_synflow_equals_its_closed_form_on_a_linear_network_with_batchnorm_left_out():
    # With |W| and an all-ones input the ReLU passes everything, R = 1'|W2||W1|1, and each layer's
    # sum of |w| dR/d|w| is R itself (R is linear in each layer's weights): synflow = 2 R.
    network = two_layer(batchnorm=True)
    with torch.no_grad():
        network[2].weight.fill_(7.0)  # a BatchNorm that is not the identity: must be left out
        network[2].running_var.fill_(0.01)
    w1, w2 = (network[i].weight.detach().double().abs().numpy() for i in (1, 4))
    expected = 2 * np.ones(2) @ w2 @ w1 @ np.ones(4)
    assert PROXIES["synflow"](network, random_batch(shape=(1, 2, 2))) == pytest.approx(expected, rel=1e-12)


def test_synflow_reads_only_the_batch_shape():
    network = nb201()
    scores = {PROXIES["synflow"](network, random_batch(n=n, seed=seed)) for n, seed in ((1, 0), (8, 1), (3, 2))}
    assert len(scores) == 1 and scores.pop() > 0
    assert PROXIES["synflow"](network, random_batch(shape=(1, 16, 16))) != PROXIES["synflow"](network, random_batch())


def test_naswot_equals_the_hamming_kernel_log_determinant():
    network = nn.Sequential(nn.Linear(2, 5), nn.ReLU())
    with torch.no_grad():
        network[0].weight.copy_(torch.tensor([[1.0, 0], [0, 1], [1, 1], [1, -1], [-1, 0.5]]))
        network[0].bias.zero_()
    inputs = torch.tensor([[1.0, 2.0], [-1.0, 1.0], [0.5, -2.0], [-1.0, -1.0]])
    codes = (inputs.numpy() @ network[0].weight.detach().numpy().T > 0).astype(float)
    hamming = np.abs(codes[:, None, :] - codes[None, :, :]).sum(-1)
    expected = np.linalg.slogdet(codes.shape[1] - hamming)[1]
    assert PROXIES["naswot"](network, Batch(inputs, torch.zeros(4, dtype=torch.int64))) == pytest.approx(expected)


def test_naswot_is_minus_infinity_when_every_image_has_the_same_activation_pattern():
    network = nb201()
    same = torch.randn(1, 1, 8, 8, generator=torch.Generator().manual_seed(3)).expand(6, 1, 8, 8).contiguous()
    assert PROXIES["naswot"](network, Batch(same, torch.zeros(6, dtype=torch.int64))) == -math.inf
    assert math.isfinite(PROXIES["naswot"](network, random_batch(n=6)))


def test_jacob_cov_equals_the_published_formula_on_per_image_jacobians():
    network = two_layer(d_in=4, hidden=6, d_out=3, seed=1, bias=True)
    batch = random_batch(n=5, shape=(1, 2, 2), seed=4)
    jacobians = np.stack([
        torch.autograd.functional.jacobian(lambda x: network(x[None]).sum(), image).flatten().numpy() for image in batch.inputs
    ]).astype(float)
    eigenvalues = np.linalg.eigvalsh(np.corrcoef(jacobians))
    expected = -np.sum(np.log(eigenvalues + 1e-5) + 1 / (eigenvalues + 1e-5))
    assert PROXIES["jacob_cov"](network, batch) == pytest.approx(expected, rel=1e-6)


def test_jacob_cov_of_a_linear_network_has_perfectly_correlated_jacobians():
    n, k = 5, 1e-5
    score = PROXIES["jacob_cov"](two_layer(seed=2)[:2], random_batch(n=n, shape=(1, 2, 2)))  # Flatten + Linear
    # Every Jacobian is W'1: the correlation matrix is all ones, eigenvalues n and 0 (n - 1 times).
    assert score == pytest.approx(-(math.log(n + k) + 1 / (n + k) + (n - 1) * (math.log(k) + 1 / k)), rel=1e-6)


def test_gradient_proxies_equal_the_hand_derived_gradient_of_a_softmax_classifier():
    network = nn.Sequential(nn.Flatten(), nn.Linear(4, 3, bias=False))
    batch = random_batch(n=6, shape=(1, 2, 2), classes=3, seed=5)
    x, w = batch.inputs.flatten(1).double().numpy(), network[1].weight.detach().double().numpy()
    logits = x @ w.T
    softmax = np.exp(logits - logits.max(1, keepdims=True))
    softmax /= softmax.sum(1, keepdims=True)
    gradient = (softmax - np.eye(3)[batch.targets.numpy()]).T @ x / len(x)  # d mean cross-entropy / dW
    assert PROXIES["grad_norm"](network, batch) == pytest.approx(np.linalg.norm(gradient), rel=1e-5)
    assert PROXIES["snip"](network, batch) == pytest.approx(np.abs(w * gradient).sum(), rel=1e-5)


def test_params_and_flops_proxies_are_the_measured_size():
    network = nb201()
    assert PROXIES["params"](network, random_batch()) == count_params(network)
    assert PROXIES["flops"](network, random_batch()) == count_flops(network, (1, 1, 8, 8))


@pytest.mark.parametrize("name", list(PROXIES))
def test_proxies_leave_the_network_untouched(name):
    network = nb201().train()
    before = {k: v.clone() for k, v in network.state_dict().items()}
    PROXIES[name](network, random_batch())
    after = network.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # weights and BatchNorm statistics
    assert all(p.grad is None for p in network.parameters()) and network.training
    assert all(p.dtype == torch.float32 for p in network.parameters())


@pytest.mark.parametrize("name", sorted(set(PROXIES) - {"params", "flops"}))
def test_a_network_cut_from_its_input_scores_no_better_than_a_connected_one(name):
    batch = random_batch()
    assert PROXIES[name](nb201(DISCONNECTED), batch) < PROXIES[name](nb201(), batch)


@pytest.mark.parametrize("name", ["synflow", "naswot", "grad_norm"])
def test_scorer_is_deterministic_per_seed(name):
    space = get_space("nb201")
    scorer = ProxyScorer(space, num_classes=4, in_channels=1, image_size=8, batch_size=6, **SMALL_NB201)
    genotype = space.decode(ALL_CONV)
    first = scorer.scores(genotype, np.random.SeedSequence(5), [name])
    assert scorer.scores(genotype, np.random.SeedSequence(5), [name]) == first
    assert scorer.scores(genotype, np.random.SeedSequence(6), [name]) != first


def test_scorer_batches_come_from_the_given_images():
    space = get_space("nb201")
    images = torch.arange(10.0)[:, None, None, None].expand(10, 1, 8, 8)
    scorer = ProxyScorer(space, num_classes=4, in_channels=1, image_size=8, images=images, labels=torch.arange(10) % 4,
                         batch_size=6)
    batch = scorer.batch(torch.Generator().manual_seed(0))
    picked = batch.inputs[:, 0, 0, 0].long()
    assert len(set(picked.tolist())) == 6 and torch.equal(batch.targets, picked % 4)


def test_data_free_proxies_are_the_ones_that_ignore_the_batch():
    network, one, other = nb201(), random_batch(seed=0), random_batch(seed=1)
    for name in PROXIES:
        assert (PROXIES[name](network, one) == PROXIES[name](network, other)) == (name in DATA_FREE), name
