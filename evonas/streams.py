"""Every random stream of a run, derived from its seed in one place.

A run's randomness comes from ``numpy.random.SeedSequence(seed, spawn_key=key)``, one child per
use, so that a result depends on the run's seed and on what is drawn alone (never on the number of
workers, the backend, or where a run was interrupted and resumed):

| spawn key | stream | drawn by |
| --- | --- | --- |
| ``(0, g)`` | generation ``g``: selection, variation, local search order | `evonas.search` (the population manager) |
| ``(1, uid)`` | the evaluation of candidate ``uid``: its training batches, BatchNorm batches, weights | the evaluators |
| ``(2,)`` | the train/validation split of a dataset | `evonas.data` |
| ``(3, 0)`` | the supernet's training paths (the strategy's draws) | `evonas.evaluators.supernet` |
| ``(3, 1, epoch)`` | the order of one supernet training epoch's batches | `evonas.evaluators.supernet` |
| ``(3, 2)`` | the supernet's initial weights | `evonas.evaluators.supernet` |
| ``(3, 3)`` | the supernet's held-out scoring and calibration images | `evonas.evaluators.supernet` |
| ``(4, uid)`` | the retraining of architecture ``uid`` | `evonas.retrain` |
| ``(5, index)`` | the proxy score of the architecture at ``index`` in its space (``--screen``) | `evonas.populations.screening` |

Two streams do not depend on the run's seed, so that every run of a dataset sees the same data:
the held-back test split (`held_out_split_rng`) and the clutter added to the embedded digits
(`clutter_rng`). Networks built only to be measured (parameters, FLOPs, latency) take fixed weights
(`evonas.networks.initialisation.DEFAULT_SEED`), drawn from no stream. Torch generators are seeded
from these streams with `evonas.training.torch_seed`. A new stream takes the next free first key.
"""

from __future__ import annotations

import numpy as np

GENERATION_STREAM = 0
EVALUATION_STREAM = 1
DATA_STREAM = 2
SUPERNET_STREAM = 3
RETRAIN_STREAM = 4
SCREEN_STREAM = 5

TEST_SPLIT_SEED = 20260101  # fixed: the held-back test split is the same for every run of a dataset
CLUTTER_SEED = 20260102  # fixed: the clutter of a split depends on its digits only


def generation_rng(seed: int, generation: int) -> np.random.Generator:
    """The random stream of one generation's selection and variation."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(GENERATION_STREAM, generation)))


def evaluation_seed(seed: int, uid: int) -> np.random.SeedSequence:
    """The seed of one candidate's evaluation (its training batches, its BatchNorm batches...)."""
    return np.random.SeedSequence(seed, spawn_key=(EVALUATION_STREAM, uid))


def data_split_rng(seed: int) -> np.random.Generator:
    """The stream that splits a dataset's training images from its validation images."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(DATA_STREAM,)))


def held_out_split_rng() -> np.random.Generator:
    """The stream that holds a dataset's test images back: the same for every run."""
    return np.random.default_rng(TEST_SPLIT_SEED)


def clutter_rng(split: int) -> np.random.Generator:
    """The stream of the clutter drawn on split ``split`` (0 training, 1 validation, 2 test) of the embedded digits."""
    return np.random.default_rng(np.random.SeedSequence(CLUTTER_SEED, spawn_key=(split,)))


def supernet_seed(seed: int, *key: int) -> np.random.SeedSequence:
    """The supernet's stream ``key`` (``0`` paths, ``1, epoch`` batch order, ``2`` weights, ``3`` held-out images)."""
    return np.random.SeedSequence(seed, spawn_key=(SUPERNET_STREAM, *key))


def retrain_seed(seed: int, uid: int) -> np.random.SeedSequence:
    """The seed of retraining architecture ``uid`` from scratch."""
    return np.random.SeedSequence(seed, spawn_key=(RETRAIN_STREAM, uid))


def screen_seed(seed: int, index: int) -> np.random.SeedSequence:
    """The seed of the proxy score of the architecture at ``index`` in its space."""
    return np.random.SeedSequence(seed, spawn_key=(SCREEN_STREAM, index))
