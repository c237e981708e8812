from __future__ import annotations

import torch
from torch import nn

from evonas.training import recalibrate_batchnorm


def test_recalibration_sets_the_exact_average_of_the_batches_statistics_and_restores_momentum():
    """Momentum left at its default (or statistics not reset) would blend in the stale values and fail."""
    generator = torch.Generator().manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4), nn.ReLU(), nn.Conv2d(4, 2, 1), nn.BatchNorm2d(2))
    model.train()
    for _ in range(3):  # stale statistics of other inputs
        model(torch.randn(8, 3, 6, 6, generator=generator) * 5 + 3)
    batches = [torch.randn(8, 3, 6, 6, generator=generator) * scale + shift for scale, shift in ((1, 0), (3, 2), (0.5, -1))]
    recalibrate_batchnorm(model, batches)
    with torch.no_grad():
        first = [model[0](batch) for batch in batches]
        # what the second BatchNorm saw: the first one normalising by each batch's own statistics, as in training
        second = [model[3](torch.relu(nn.functional.batch_norm(x, None, None, model[1].weight, model[1].bias, training=True)))
                  for x in first]
        for norm, inputs in ((model[1], first), (model[4], second)):
            means = torch.stack([x.mean(dim=(0, 2, 3)) for x in inputs]).mean(0)
            variances = torch.stack([x.var(dim=(0, 2, 3), unbiased=True) for x in inputs]).mean(0)
            torch.testing.assert_close(norm.running_mean, means, rtol=1e-5, atol=1e-6)
            torch.testing.assert_close(norm.running_var, variances, rtol=1e-5, atol=1e-6)
            assert norm.momentum == 0.1 and int(norm.num_batches_tracked) == 3
    assert not model.training
