"""Datasets: the embedded default (scikit-learn's bundled digits), ``.npz`` arrays, or a folder of images.

Splits are stratified and deterministic: the test split depends only on the data (so every run of a
dataset holds back the same images, which the search never sees), the train/validation split on the
run's seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from evonas.errors import ConfigError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
TEST_SPLIT_SEED = 20260101  # fixed: the held-back test split is the same for every run of a dataset
DATA_STREAM = 2  # spawn key of the run seed's train/validation split (0, 1 are search.py's streams)


@dataclass(frozen=True)
class Dataset:
    """Images as float tensors ``(N, C, H, W)`` standardised by the training split, labels as int64.

    Attributes:
        name: where the data came from ("digits", a path).
        x_train, y_train: what networks are trained on.
        x_val, y_val: what the search measures candidates on.
        x_test, y_test: held back from the search (retraining reports on it).
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor

    @property
    def num_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_val.max(), self.y_test.max())) + 1

    @property
    def in_channels(self) -> int:
        return self.x_train.shape[1]

    @property
    def image_size(self) -> int:
        return self.x_train.shape[2]


def load_arrays(source: str | None) -> tuple[str, np.ndarray, np.ndarray]:
    """Images ``(N, C, H, W)`` float32 and labels ``(N,)`` int64 of a data source.

    ``source`` is None or "digits" (scikit-learn's bundled 8x8 digits), a ``.npz`` file with arrays
    ``x`` (``(N, H, W)``, ``(N, H, W, C)`` or ``(N, C, H, W)``) and ``y``, or a folder with one
    sub-folder of images per class.
    """
    if source in (None, "digits"):
        from sklearn.datasets import load_digits

        digits = load_digits()
        return "digits", (digits.images[:, None] / 16.0).astype(np.float32), digits.target.astype(np.int64)
    path = Path(source)
    if path.suffix == ".npz":
        return str(path), *_load_npz(path)
    if path.is_dir():
        return str(path), *_load_folder(path)
    raise ConfigError(f"data {source!r} is neither 'digits', an existing .npz file nor a folder of class folders")


def _load_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as arrays:
            if "x" not in arrays or "y" not in arrays:
                raise ConfigError(f"{path} must hold arrays 'x' and 'y' (it has {', '.join(arrays.files)})")
            x, y = arrays["x"], arrays["y"]
    except (OSError, ValueError) as error:
        raise ConfigError(f"cannot read {path}: {error}") from None
    if x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4 and x.shape[-1] in (1, 3, 4) and x.shape[1] not in (1, 3, 4):
        x = x.transpose(0, 3, 1, 2)
    if x.ndim != 4 or y.ndim != 1 or len(x) != len(y):
        raise ConfigError(f"{path}: x must be (N,H,W[,C]) and y (N,) of the same length; got {x.shape} and {y.shape}")
    if x.shape[2] != x.shape[3]:
        raise ConfigError(f"{path}: images must be square, got {x.shape[2]}x{x.shape[3]}")
    scale = 255.0 if np.issubdtype(x.dtype, np.integer) or x.max() > 1.0 else 1.0
    return (x / scale).astype(np.float32), _labels(y, path)


def _labels(y: np.ndarray, where: Path) -> np.ndarray:
    if not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
        raise ConfigError(f"{where}: labels y must be non-negative integers")
    return y.astype(np.int64)


def _load_folder(path: Path) -> tuple[np.ndarray, np.ndarray]:
    from PIL import Image

    classes = sorted(p.name for p in path.iterdir() if p.is_dir())
    if len(classes) < 2:
        raise ConfigError(f"{path} needs at least two class folders, found {len(classes)}")
    images, labels, size = [], [], None
    for label, name in enumerate(classes):
        for file in sorted((path / name).iterdir()):
            if file.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            with Image.open(file) as image:
                array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
            if size is None:
                size = array.shape
            if array.shape != size or array.shape[0] != array.shape[1]:
                raise ConfigError(f"{file}: images must be square and all {size[0]}x{size[1]}, got {array.shape[0]}x{array.shape[1]}")
            images.append(array.transpose(2, 0, 1))
            labels.append(label)
    if not images:
        raise ConfigError(f"no images ({', '.join(IMAGE_SUFFIXES)}) under {path}")
    return np.stack(images), np.array(labels, dtype=np.int64)


def stratified_split(labels: np.ndarray, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Indices (rest, taken): ``fraction`` of each class taken at random, both sorted."""
    taken = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        count = int(round(fraction * len(members)))
        taken.extend(rng.choice(members, size=count, replace=False).tolist())
    taken = np.sort(np.array(taken, dtype=np.int64))
    rest = np.setdiff1d(np.arange(len(labels)), taken)
    return rest, taken


def load_dataset(source: str | None = None, *, seed: int, val_fraction: float = 0.2, test_fraction: float = 0.2) -> Dataset:
    """The dataset of ``source`` (see `load_arrays`) split into train / validation / test.

    Args:
        source: None/"digits", a ``.npz`` path, or a folder of class folders.
        seed: the run's seed; it decides the train/validation split only.
        val_fraction: share of the non-test images used for validation.
        test_fraction: share of all images held back for testing.
    """
    if not (0 < val_fraction < 1 and 0 < test_fraction < 1):
        raise ConfigError(f"split fractions must be in (0, 1), got val={val_fraction} test={test_fraction}")
    name, x, y = load_arrays(source)
    rest, test = stratified_split(y, test_fraction, np.random.default_rng(TEST_SPLIT_SEED))
    split_rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(DATA_STREAM,)))
    train_at, val_at = stratified_split(y[rest], val_fraction, split_rng)
    train, val = rest[train_at], rest[val_at]
    mean = x[train].mean(axis=(0, 2, 3), keepdims=True)
    std = x[train].std(axis=(0, 2, 3), keepdims=True) + 1e-6

    def tensors(indices: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.from_numpy((x[indices] - mean) / std), torch.from_numpy(y[indices])

    return Dataset(name, *tensors(train), *tensors(val), *tensors(test))
