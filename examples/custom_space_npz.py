"""A search space of your own and a training evaluator of your own, on your own ``.npz`` data.

The space is three genes of a small convolutional network plus a function that builds it; the evaluator
is a plain function that trains the network on the training split and returns its validation accuracy
and size. The data is an ``.npz`` file with arrays ``x`` (N, H, W) and ``y`` (N,), here made by the
script itself (bars of three orientations in noise); give yours with ``--data``.

    python examples/custom_space_npz.py --small          # about 20 s on one core
    python examples/custom_space_npz.py --data mine.npz --out checkpoints/mine
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from torch import nn

import evonas


def make_bars(path: Path, *, images: int, size: int, seed: int = 0) -> Path:
    """Noisy images of a horizontal (0), vertical (1) or diagonal (2) bar at a random place (written once: the file is
    part of the run's fingerprint, so a second run of the script continues the first)."""
    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    x = rng.normal(0.0, 1.0, size=(images, size, size)).astype(np.float32)
    y = np.arange(images) % 3
    for image, label in zip(x, y):
        at = rng.integers(1, size - 1)
        if label == 0:
            image[at, :] += 1.2
        elif label == 1:
            image[:, at] += 1.2
        else:
            image[np.arange(size), np.arange(size)] += 1.2
    np.savez(path, x=x, y=y)
    return path


def build(chosen, *, num_classes, in_channels, image_size):
    """The network of one architecture: ``depth`` convolutions of ``width`` channels and a ``kernel``-sized kernel."""
    layers, channels = [], in_channels
    for _ in range(chosen["depth"]):
        layers += [nn.Conv2d(channels, chosen["width"], chosen["kernel"], padding=chosen["kernel"] // 2),
                   nn.BatchNorm2d(chosen["width"]), nn.ReLU()]
        channels = chosen["width"]
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, num_classes))


SPACE = evonas.Space(
    name="tiny-cnn",
    genes={"depth": [1, 2, 3], "width": [4, 8, 16], "kernel": [1, 3, 5]},
    build=build,
)


def train_and_score(genotype, context, epochs: int = 3) -> dict[str, float]:
    """Trains the candidate from its own seed on the training split; its validation accuracy (%) and parameters."""
    data = context.data
    generator = torch.Generator().manual_seed(context.seed)
    network = context.space.build(genotype, num_classes=data.num_classes, in_channels=data.in_channels,
                                  image_size=data.image_size, generator=generator)
    optimizer = torch.optim.Adam(network.parameters(), lr=0.01)
    network.train()
    for _ in range(epochs):
        for batch in torch.randperm(len(data.x_train), generator=generator).split(32):
            optimizer.zero_grad()
            nn.functional.cross_entropy(network(data.x_train[batch]), data.y_train[batch]).backward()
            optimizer.step()
    network.eval()
    with torch.no_grad():
        accuracy = (network(data.x_val).argmax(1) == data.y_val).float().mean().item() * 100
    return {"acc": accuracy, "params": float(sum(p.numel() for p in network.parameters()))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a tiny search (CI)")
    parser.add_argument("--data", type=Path, help="your .npz (arrays x and y); default: made here")
    parser.add_argument("--out", type=Path, default=Path("checkpoints/custom-space-npz"))
    args = parser.parse_args()
    torch.set_num_threads(1)  # small networks: one thread is fastest
    args.out.mkdir(parents=True, exist_ok=True)
    data = args.data or make_bars(args.out / "bars.npz", images=240 if args.small else 900, size=8)
    result = evonas.evolve(
        space=SPACE,
        evaluator=train_and_score,
        data=data,
        objectives=["acc", "params"],
        population=4 if args.small else 8,
        evaluations=8 if args.small else 40,
        run_dir=args.out / "run",
    )
    print(f"{result.evaluated} architectures of {SPACE.size} evaluated; front in {result.run_dir / 'front.csv'}:")
    for row in result.to_rows():
        print(f"  {row['arch']:32} acc {row['acc']:6.2f}%  params {row['params']:.0f}")


if __name__ == "__main__":
    main()
