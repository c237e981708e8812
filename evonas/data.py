"""Datasets: embedded ones built from scikit-learn's bundled digits, ``.npz`` arrays, or a folder of images.

Splits are stratified and deterministic: the test split depends only on the data (so every run of a
dataset holds back the same images, which the search never sees), the train/validation split on the
run's seed.

Two embedded datasets need no download. ``digits`` is scikit-learn's 1,797 8x8 digits; every
reasonable network scores 97-99% on it and stand-alone training cannot tell architectures apart
(seed-to-seed Kendall tau about 0). ``cluttered-digits``, the default of the network evaluators, is
the cluttered-MNIST construction (Mnih et al., 2014, "Recurrent models of visual attention") applied
to them: after the split, each digit is pasted twice at a random place of a 12x12 canvas among
four 3x3 fragments of other digits of the same split. Recognising it needs a receptive field that
covers the digit and enough capacity to ignore the clutter, so architectures differ by tens of
points and the ranking of stand-alone training repeats across seeds.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from evonas.errors import ConfigError
from evonas.streams import clutter_rng, data_split_rng, held_out_split_rng

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
EMBEDDED = ("cluttered-digits", "digits")
CLUTTER = {"canvas": 12, "copies": 2, "fragments": 4, "fragment_size": 3}


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


def data_input(source: str | None) -> Path | str:
    """A data source as an evaluator's input (`Evaluator.inputs`): an embedded dataset's name, or its file or folder."""
    return source if source in (None, *EMBEDDED) else Path(source)


def load_arrays(source: str | None) -> tuple[str, np.ndarray, np.ndarray]:
    """Images ``(N, C, H, W)`` float32 and labels ``(N,)`` int64 of a data source.

    ``source`` is None, "digits" or "cluttered-digits" (scikit-learn's bundled 8x8 digits; the
    clutter is added per split by `load_dataset`), a ``.npz`` file with arrays ``x`` (``(N, H, W)``,
    ``(N, H, W, C)`` or ``(N, C, H, W)``) and ``y``, or a folder with one sub-folder of images per class.
    """
    if source in (None, *EMBEDDED):
        table = np.loadtxt(_bundled_digits(), delimiter=",")
        images = (table[:, :-1] / 16.0).astype(np.float32).reshape(-1, 1, 8, 8)
        return "digits", images, table[:, -1].astype(np.int64)
    path = Path(source)
    if path.suffix == ".npz":
        return str(path), *_load_npz(path)
    if path.is_dir():
        return str(path), *_load_folder(path)
    raise ConfigError(
        f"data {source!r} is neither an embedded dataset ({', '.join(EMBEDDED)}), an existing .npz file nor a folder of class folders"
    )


def _bundled_digits() -> Path:
    """The digits table inside the installed scikit-learn (found without importing it: that takes seconds)."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the embedded datasets need scikit-learn: pip install scikit-learn")
    return Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"


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
    if x.dtype.kind not in "iuf" or y.dtype.kind not in "iu":
        raise ConfigError(f"{path}: x must hold real numbers and y integers; got {x.dtype} and {y.dtype}")
    if len(x) and not np.isfinite(x).all():
        bad = np.flatnonzero(~np.isfinite(x.reshape(len(x), -1)).all(axis=1))
        raise ConfigError(f"{path}: {len(bad)} image(s) hold NaN or infinite values, the first is x[{bad[0]}]")
    scale = 255.0 if np.issubdtype(x.dtype, np.integer) or (len(x) and x.max() > 1.0) else 1.0
    return (x / scale).astype(np.float32), y.astype(np.int64)


def check_labels(labels: np.ndarray, where: str) -> int:
    """The number of classes K of ``labels``; `ConfigError` unless they are 0..K-1, each present, K >= 2.

    Labels are refused rather than renumbered, so that a network's output k always means label k.
    """
    classes = np.unique(labels)
    if len(classes) < 2:
        raise ConfigError(f"{where}: the labels hold {len(classes)} class(es); a classifier needs at least two")
    if classes[0] != 0 or classes[-1] != len(classes) - 1:
        raise ConfigError(
            f"{where}: labels must be 0..K-1 with every class present; they are {len(classes)} distinct values "
            f"from {classes[0]} to {classes[-1]} (renumber them 0..{len(classes) - 1})"
        )
    return len(classes)


def _load_folder(path: Path) -> tuple[np.ndarray, np.ndarray]:
    from PIL import Image

    classes = sorted(p.name for p in path.iterdir() if p.is_dir())
    if len(classes) < 2:
        raise ConfigError(f"{path} needs at least two class folders, found {len(classes)}")
    images, labels, size = [], [], None
    for label, name in enumerate(classes):
        files = [f for f in sorted((path / name).iterdir()) if f.suffix.lower() in IMAGE_SUFFIXES]
        if not files:
            raise ConfigError(f"class folder {path / name} holds no images ({', '.join(IMAGE_SUFFIXES)})")
        for file in files:
            try:
                with Image.open(file) as image:
                    array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
            except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
                raise ConfigError(f"{file} is not a readable image: {error}") from None
            if size is None:
                size = array.shape
            if array.shape != size or array.shape[0] != array.shape[1]:
                raise ConfigError(f"{file}: images must be square and all {size[0]}x{size[1]}, got {array.shape[0]}x{array.shape[1]}")
            images.append(array.transpose(2, 0, 1))
            labels.append(label)
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


def clutter(
    images: np.ndarray,
    labels: np.ndarray,
    rng: np.random.Generator,
    *,
    canvas: int,
    copies: int,
    fragments: int,
    fragment_size: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Each image pasted ``copies`` times at a random place of a ``canvas`` square among clutter.

    The clutter is ``fragments`` random ``fragment_size`` squares cut from random images of the
    same set; pixels combine by maximum. Draws the fragments' source images, their places in the
    sources and on the canvas, then the images' places, each as one array.

    Args:
        images: ``(N, C, H, W)`` with values in [0, 1].
        labels: ``(N,)``.
        rng: the source of the placements.

    Returns:
        Images ``(N * copies, C, canvas, canvas)`` and their labels, copies of an image adjacent.
    """
    n, channels, height, width = images.shape
    if canvas < max(height, width) or fragment_size > min(height, width):
        raise ConfigError(f"cannot clutter {height}x{width} images on a {canvas}x{canvas} canvas")
    total, size = n * copies, fragment_size
    sources = rng.integers(n, size=(total, fragments))
    cuts = rng.integers(0, [height - size + 1, width - size + 1], size=(total, fragments, 2))
    spots = rng.integers(0, canvas - size + 1, size=(total, fragments, 2))
    places = rng.integers(0, [canvas - height + 1, canvas - width + 1], size=(total, 2))
    out = np.zeros((total, channels, canvas, canvas), dtype=np.float32)
    for k in range(total):
        for source, (top, left), (row, col) in zip(sources[k], cuts[k], spots[k]):
            patch = out[k, :, row : row + size, col : col + size]
            np.maximum(patch, images[source, :, top : top + size, left : left + size], out=patch)
        row, col = places[k]
        place = out[k, :, row : row + height, col : col + width]
        np.maximum(place, images[k // copies], out=place)
    return out, np.repeat(labels, copies)


def load_dataset(source: str | None = None, *, seed: int, val_fraction: float = 0.2, test_fraction: float = 0.2) -> Dataset:
    """The dataset of ``source`` (see `load_arrays`) split into train / validation / test.

    Args:
        source: None/"digits", "cluttered-digits", a ``.npz`` path, or a folder of class folders.
        seed: the run's seed; it decides the train/validation split only.
        val_fraction: share of the non-test images used for validation.
        test_fraction: share of all images held back for testing.

    Raises `ConfigError` for data a network cannot meaningfully learn from: non-finite pixels, labels that
    are not 0..K-1 with every class present and K >= 2 (`check_labels`), a class too small to give each
    split one image, an unreadable image file.
    """
    if not (0 < val_fraction < 1 and 0 < test_fraction < 1):
        raise ConfigError(f"split fractions must be in (0, 1), got val={val_fraction} test={test_fraction}")
    name, x, y = load_arrays(source)
    classes = check_labels(y, name)
    rest, test = stratified_split(y, test_fraction, held_out_split_rng())
    split_rng = data_split_rng(seed)
    train_at, val_at = stratified_split(y[rest], val_fraction, split_rng)
    splits = [(x[i], y[i]) for i in (rest[train_at], rest[val_at], test)]
    for split, (_, labels) in zip(("training", "validation", "test"), splits):
        if len(np.unique(labels)) < classes:
            short = min(range(classes), key=lambda k: (np.count_nonzero(y == k), k))
            raise ConfigError(
                f"{name}: too few images for the splits: class {short} has {np.count_nonzero(y == short)}, and the {split} "
                f"split needs one of every class ({len(y)} images in all)"
            )
    if source == "cluttered-digits":
        name = source
        splits = [
            clutter(images, labels, clutter_rng(k), **CLUTTER)
            for k, (images, labels) in enumerate(splits)
        ]
    mean = splits[0][0].mean(axis=(0, 2, 3), keepdims=True)
    std = splits[0][0].std(axis=(0, 2, 3), keepdims=True) + 1e-6

    def tensors(images: np.ndarray, labels: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        # A fresh tensor with standard strides: torch 2.13's CPU convolutions corrupt memory on
        # (N, 1, H, W) inputs whose channel stride is 1, which numpy can produce.
        standardised = torch.from_numpy((images - mean) / std)
        return torch.empty(standardised.shape).copy_(standardised), torch.from_numpy(labels)

    return Dataset(name, *(t for images, labels in splits for t in tensors(images, labels)))
