"""Taking an architecture away from a run: its genotype as JSON and its network as a state dict, TorchScript or ONNX.

The network carries the weights the search measured it with (a supernet's path after BatchNorm
recalibration); an evaluator without weights gives a freshly initialised network: the one it trains
(train evaluator), or for a table the space's published network on CIFAR-10-shaped input, which is
what the published tables measured.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evonas.checkpoint import RunStore, atomic_write, output_path
from evonas.errors import ArchitectureError, CheckpointError, ConfigError
from evonas.genotype import Genotype
from evonas.history import RunHistory
from evonas.report import front_table
from evonas.spaces import get_space

FORMAT = 1
SUFFIXES = {".json": "genotype", ".pt": "state dict", ".ts": "TorchScript", ".onnx": "ONNX"}
PUBLISHED_INPUT = {"num_classes": 10, "in_channels": 3, "image_size": 32}  # CIFAR-10, the tables' dataset


@dataclass(frozen=True)
class ExportedArchitecture:
    """A chosen architecture of a run, with the metrics the run measured (empty if it never evaluated it)."""

    genotype: Genotype
    arch: str
    metrics: dict[str, float]
    run: Path

    def to_json(self, build_options: dict[str, Any], inherited: bool) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "space": self.genotype.space,
            "arch": self.arch,
            "genes": list(self.genotype.genes),
            "metrics": self.metrics,
            "run": str(self.run),
            "build_options": build_options,
            "inherited_weights": inherited,
        }


def choose(history: RunHistory, *, arch: str | None = None, rank: int | None = None) -> ExportedArchitecture:
    """The architecture given by its string, or the ``rank``-th (1-based) of the front as `evonas show` lists it."""
    if (arch is None) == (rank is None):
        raise ConfigError("give exactly one of --arch STRING and --rank K")
    space = get_space(history.config["space"])
    if rank is not None:
        rows = front_table(history).rows
        if not 1 <= rank <= len(rows):
            raise ConfigError(f"--rank {rank}: the front of {history.path} has {len(rows)} architectures (1..{len(rows)})")
        arch = rows[rank - 1][0]
    try:
        genotype = space.decode(arch)
        arch = space.encode(genotype)
    except ArchitectureError as error:
        raise ConfigError(f"--arch: {error}") from None
    measured = next((r.metrics for r in history.rows if r.arch == arch), {})
    return ExportedArchitecture(genotype, arch, dict(measured), history.path)


def run_network(run_dir: Path, genotype: Genotype) -> tuple[Any, dict[str, Any], bool]:
    """The network of ``genotype`` with the weights the run's evaluator holds for it, its build options,
    and whether the weights are inherited (False: freshly initialised)."""
    from evonas.search import RunConfig, Search

    store = RunStore.open(run_dir)
    config = RunConfig.from_json(store.read_config())
    evaluator = Search.evaluator_for(config, store.evaluator_dir)
    options = dict(evaluator.build_options or PUBLISHED_INPUT)
    network = evaluator.inherited_network(genotype)
    if network is not None:
        return network, options, True
    return get_space(genotype.space).build(genotype, **options).eval(), options, False


def export(run_dir: Path, out: Path, *, arch: str | None = None, rank: int | None = None) -> tuple[Path, bool]:
    """Writes the chosen architecture to ``out`` in the format of its suffix (see `SUFFIXES`) and, beside a
    network file, its genotype as ``<stem>.json``; returns ``out`` and whether the weights are inherited."""
    out = Path(out)
    fmt = SUFFIXES.get(out.suffix.lower())
    if fmt is None:
        raise ConfigError(f"cannot export to {out.name!r}; use one of {', '.join(SUFFIXES)}")
    output_path(out)
    chosen = choose(RunHistory.load(run_dir), arch=arch, rank=rank)
    network, options, inherited = run_network(run_dir, chosen.genotype)
    document = chosen.to_json(options, inherited)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out.with_suffix(".json"), json.dumps(document, indent=1) + "\n")
    if fmt != "genotype":
        atomic_write(out, _serialise(network, document, fmt))
    return out, inherited


def _serialise(network, document: dict[str, Any], fmt: str) -> bytes:
    import torch

    buffer = io.BytesIO()
    options = document["build_options"]
    example = torch.zeros(1, options["in_channels"], options["image_size"], options["image_size"])
    if fmt == "state dict":
        torch.save({"genotype": json.dumps(document), "state_dict": network.state_dict()}, buffer)
    elif fmt == "TorchScript":
        torch.jit.save(torch.jit.trace(network, example), buffer)
    else:
        try:
            import onnx  # noqa: F401  (torch's exporter needs it)
        except ImportError:
            raise ConfigError("ONNX export needs the onnx package: pip install 'evonas[onnx]'") from None
        torch.onnx.export(network, (example,), buffer, dynamo=False, input_names=["images"], output_names=["logits"],
                          dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}})
    return buffer.getvalue()


def load_network(path: Path):
    """The network of a ``.pt`` file `export` wrote, rebuilt from its genotype with its weights loaded
    (``weights_only``: nothing in the file can run code)."""
    import torch

    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        document = json.loads(payload["genotype"])
    except Exception as error:  # torch raises several kinds for a truncated or foreign file
        raise CheckpointError(f"{path} is not a network exported by evonas: {error}") from None
    space = get_space(document["space"])
    network = space.build(space.make(document["genes"]), **document["build_options"])
    network.load_state_dict(payload["state_dict"])
    return network.eval()
