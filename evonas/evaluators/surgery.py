"""The surgery evaluator: every individual is a live network; a child inherits its parent's trained weights.

Generation 0 trains small random networks of the surgery space (`SurgerySpace.sample`) from scratch.
A later candidate takes its first parent's trained network and optimiser state, turned into its own
architecture by `evonas.networks.transfer` (function-preserving for deepen, widen and a larger kernel;
lossy for a removed layer, a narrower layer or a smaller kernel), trains for its budget (``steps``, plus
``recovery_steps`` after a lossy edit) and is measured on the validation split: Lamarckian evolution
as in LEMONADE (Elsken et al., 2019), driven by NSGA-II.

Survivors are frozen: a network trains only when it is created. Its measured accuracy thus stays
the accuracy of the network kept on disk (the search ranks what it measured), every evaluation costs
the same known budget (what `benchmarks/surgery_vs_scratch.py` compares at equal compute), and a
network's state changes in exactly one place, which makes resuming exact. Training goes on along a
lineage instead: a child of a child has trained for the sum of their budgets.

State: ``evaluator/networks/<uid>.pt`` per live network (its architecture string, weights and SGD
momentum; tensors only, loaded with ``weights_only=True``, written atomically once the network is
trained). `survived` deletes the files of individuals that will never be a parent again, so at most
the population plus one generation of offspring is kept: ``2 x population`` files, each about
``8 x params`` bytes. A candidate's training draws from its own ``Candidate.seed`` and reads only
its parent's file, so candidates can be trained in any order or in other processes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch

from evonas.data import load_dataset
from evonas.errors import CheckpointError, ConfigError
from evonas.evaluators.base import Candidate, Evaluation, Evaluator
from evonas.evaluators.supernet import DEFAULT_DATA, check_metrics, load_tensors, save_tensors
from evonas.genotype import Genotype, Individual
from evonas.measure.latency import LatencyTable, Layer
from evonas.measure.meter import LATENCY_TABLE_FILE, NetworkMeter, network_options
from evonas.networks.initialisation import initialise
from evonas.networks.surgery import every_unit, units
from evonas.networks.transfer import operate, transfer_tensors
from evonas.spaces.base import SearchSpace
from evonas.spaces.surgery import KERNELS, STAGES, WIDTHS, SurgerySpace
from evonas.training import TrainingOptions, accuracy, epoch_batches, torch_seed, train_step, use_threads

NETWORKS_DIR = "networks"
NETWORK_FORMAT = 1
DEFAULT_STEPS = 100  # about three epochs of the embedded data's training split at batch 64
DEFAULT_RECOVERY_STEPS = 30


class SurgeryEvaluator(Evaluator):
    """Accuracy of live networks trained along their lineage, plus size and latency of each.

    Args:
        data: "cluttered-digits" (default), "digits", a ``.npz`` file or a folder of class folders.
        steps: optimiser steps each candidate trains (generation 0 from scratch, later ones from their parent).
        epochs: the budget in passes over the training split instead of ``steps``.
        recovery_steps: extra steps of a child whose parent's function was not preserved.
        batch_size, lr, momentum, weight_decay, schedule: SGD (Nesterov) per candidate; the schedule restarts
            for each candidate (see `TrainingOptions`).
        widths: ``stem_channels`` of the networks.
        threads: torch threads of this process.
    """

    name = "surgery"
    description = "live networks: children inherit their parent's trained weights by network surgery, then train"

    def __init__(
        self,
        *,
        space: SearchSpace,
        sources: Mapping[str, str],
        state_dir: Path | None = None,
        seed: int = 0,
        data: str = DEFAULT_DATA,
        steps: int | None = None,
        epochs: int | None = None,
        recovery_steps: int = DEFAULT_RECOVERY_STEPS,
        batch_size: int = 64,
        optimizer: str = "sgd",
        lr: float = 0.05,
        momentum: float = 0.9,
        weight_decay: float = 5e-4,
        schedule: str = "cosine",
        widths: Mapping[str, int] | None = None,
        threads: int = 1,
    ) -> None:
        super().__init__(space=space, sources=sources, state_dir=state_dir, seed=seed)
        if not isinstance(space, SurgerySpace):
            raise ConfigError(f"the surgery evaluator needs --space surgery, not {space.name!r}")
        if state_dir is None:
            raise ConfigError("the surgery evaluator keeps its networks in a run directory; none was given")
        if optimizer != "sgd":
            raise ConfigError(f"the surgery evaluator trains with sgd (its momentum is carried to the children), not {optimizer!r}")
        if steps is not None and epochs is not None:
            raise ConfigError(f"give --steps or --epochs, not both (got {steps} and {epochs})")
        if recovery_steps < 0:
            raise ConfigError(f"--recovery-steps must be at least 0, got {recovery_steps}")
        use_threads(threads)
        self.accuracy_names, network_metrics = check_metrics(self.name, self.sources)
        # latency: a lookup table of every layer these networks can have (they have no supernet to take it from)
        self.latency_table: LatencyTable | None = None
        self.wants_latency = "latency" in network_metrics
        network_metrics = [m for m in network_metrics if m != "latency"]
        self.training = TrainingOptions(
            epochs=epochs or 0, batch_size=batch_size, lr=lr, momentum=momentum, weight_decay=weight_decay, schedule=schedule
        )
        self.data = load_dataset(data, seed=seed)
        self.steps = self.training.steps_per_epoch(len(self.data.x_train)) * epochs if epochs is not None else steps
        if self.steps is None:
            self.steps = DEFAULT_STEPS
        if self.steps < 0:
            raise ConfigError(f"--steps must be at least 0, got {self.steps}")
        self.recovery_steps = recovery_steps
        shape = {"num_classes": self.data.num_classes, "in_channels": self.data.in_channels, "image_size": self.data.image_size}
        self.build_options = {**shape, **network_options(space, widths, {})}
        self.meter = NetworkMeter(space, self.build_options, network_metrics, state_dir)
        self.steps_trained = 0  # optimiser steps this process has trained (a compute count for benchmarks)

    @property
    def networks_dir(self) -> Path:
        return self.state_dir / NETWORKS_DIR

    def prepare(self, *, progress: bool = True) -> None:
        """Loads the latency table from the run directory, or times every layer once and stores it (if latency is wanted)."""
        if not self.wants_latency or self.latency_table is not None:
            return
        path = self.state_dir / LATENCY_TABLE_FILE
        if path.is_file():
            self.latency_table = LatencyTable.load(path)
            return
        generator = torch.Generator().manual_seed(0)  # the timed layers' weights: any will do
        parts = every_unit(WIDTHS, KERNELS, STAGES, **self.build_options)
        self.latency_table = LatencyTable.measure([Layer(initialise(m.to_empty(device="cpu"), generator), shape) for m, shape in parts])
        self.latency_table.save(path)

    def _latency(self, genotype: Genotype) -> float:
        """Predicted milliseconds of ``genotype``'s network: the sum of its parts' entries in the table."""
        self.prepare()
        return self.latency_table.predict([Layer(m, shape) for m, shape in units(self.space.layers(genotype), **self.build_options)], genotype)

    # -- live networks on disk ---------------------------------------------------------------
    def _path(self, uid: int) -> Path:
        return self.networks_dir / f"{uid}.pt"

    def _load(self, uid: int) -> dict | None:
        """The saved state of network ``uid``, or None if it was freed (or never trained)."""
        path = self._path(uid)
        if not path.is_file():
            return None
        state = load_tensors(path)
        if state.get("format") != NETWORK_FORMAT:
            raise CheckpointError(f"{path} has network format {state.get('format')!r}; this evonas reads {NETWORK_FORMAT}")
        return state

    def survived(self, generation: int, population: Sequence[Individual], next_uid: int) -> None:
        """Deletes the networks of individuals below ``next_uid`` that did not survive."""
        if not self.networks_dir.is_dir():
            return
        alive = {ind.uid for ind in population}
        for path in self.networks_dir.glob("*.pt"):
            if path.stem.isdigit() and int(path.stem) < next_uid and int(path.stem) not in alive:
                path.unlink()

    # -- evaluating --------------------------------------------------------------------------
    def evaluate_one(self, candidate: Candidate) -> Evaluation:
        started = time.perf_counter()
        generator = torch.Generator().manual_seed(torch_seed(candidate.seed))
        network, momentum, steps = self._inherit(candidate, generator)
        momentum = self._train(network, momentum, steps, generator)
        metrics: dict[str, float] = {}
        if self.accuracy_names:
            value = accuracy(network, self.data.x_val, self.data.y_val)
            metrics.update(dict.fromkeys(self.accuracy_names, value))
        self.networks_dir.mkdir(parents=True, exist_ok=True)
        save_tensors(
            self._path(candidate.uid),
            {"format": NETWORK_FORMAT, "arch": candidate.arch, "weights": network.state_dict(), "momentum": momentum},
        )
        measured = self.meter.measure(candidate.genotype)
        if self.wants_latency:
            measured["latency"] = self._latency(candidate.genotype)
        metrics.update({name: measured[source] for name, source in self.sources.items() if source in measured})
        status = "ok" if all(math.isfinite(v) for v in metrics.values()) else "failed"
        return Evaluation(metrics, status=status, seconds=time.perf_counter() - started)

    def _inherit(self, candidate: Candidate, generator: torch.Generator) -> tuple[torch.nn.Module, dict[str, torch.Tensor], int]:
        """The candidate's network before training, its optimiser state and its budget of steps.

        From its first parent whose network is still kept (a parent Pareto local search took from the
        archive may have been freed), else freshly initialised.
        """
        for uid in candidate.parents:
            state = self._load(uid)
            if state is not None:
                parent = self.space.decode(state["arch"])
                network, surgery = operate(self.space, parent, state["weights"], candidate.genotype, self.build_options, generator)
                template = dict(network.named_parameters())
                momentum = transfer_tensors(surgery, state["momentum"], template, identity=False) if state["momentum"] else {}
                return network, momentum, self.steps + (0 if surgery.exact else self.recovery_steps)
        return self.space.build(candidate.genotype, **self.build_options, generator=generator), {}, self.steps

    def _train(self, network: torch.nn.Module, momentum: dict[str, torch.Tensor], steps: int, generator: torch.Generator) -> dict[str, torch.Tensor]:
        """Trains ``steps`` SGD steps from the given momentum (batch order from ``generator``); returns the momentum."""
        named = dict(network.named_parameters())
        optimizer = self.training.optimizer_for(list(named.values()))
        for name, buffer in momentum.items():
            optimizer.state[named[name]]["momentum_buffer"] = buffer.clone()
        scheduler = self.training.scheduler_for(optimizer, steps)
        x, y = self.data.x_train, self.data.y_train
        network.train()
        done = 0
        while done < steps:
            for batch in epoch_batches(len(x), self.training.batch_size, generator)[: steps - done]:
                optimizer.zero_grad(set_to_none=True)
                train_step(network, x[batch], y[batch])
                optimizer.step()
                scheduler.step()
                done += 1
        self.steps_trained += done
        return {name: optimizer.state[p]["momentum_buffer"] for name, p in named.items() if "momentum_buffer" in optimizer.state[p]}

    def inherited_network(self, genotype: Genotype) -> torch.nn.Module | None:
        """The live network of ``genotype`` as it was measured, if it is still kept (survivors and the last offspring)."""
        arch = self.space.encode(genotype)
        if not self.networks_dir.is_dir():
            return None
        for path in sorted(self.networks_dir.glob("*.pt")):
            state = load_tensors(path)
            if state.get("arch") == arch:
                network = self.space.build(genotype, **self.build_options)
                network.load_state_dict(state["weights"])
                return network.eval()
        return None
