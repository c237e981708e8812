"""The retrain stage: the front's best architectures trained from scratch, measured on the held-back test split.

Results go to ``retrain.csv`` in the run directory, rewritten atomically after every architecture, so
an interrupted retraining keeps what it finished and a second call with the same settings only trains
the rest. Each architecture's training draws from `evonas.streams.retrain_seed` (its uid in
the run), so its result does not depend on how many are retrained, nor on the workers.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from evonas.checkpoint import RETRAIN_FILE, atomic_write, format_value
from evonas.errors import ConfigError
from evonas.evaluators import Candidate, make_evaluator
from evonas.history import RunHistory
from evonas.parallel import Parallelism
from evonas.report import Table, front_table, read_retrain
from evonas.spaces import get_space
from evonas.streams import retrain_seed

# Options of the run's evaluator that say what the networks and their data were.
CARRIED_OPTIONS = ("data", "widths")


def retrain(
    run_dir: Path,
    *,
    top: int,
    epochs: int | None = None,
    jobs: int = 1,
    progress: bool = False,
) -> Table:
    """Trains the first ``top`` architectures of the front (as `evonas show` lists them) from scratch on the
    training and validation splits and measures them on the test split; returns the ``retrain.csv`` table.

    The data and network widths are the run's (the defaults of the train evaluator for a table run);
    ``epochs`` defaults to the train evaluator's; ``progress`` shows a bar over the architectures.
    """
    from tqdm.auto import tqdm

    history = RunHistory.load(run_dir)
    if top < 1:
        raise ConfigError(f"--top must be at least 1, got {top}")
    config = history.config
    space = get_space(config["space"])
    options = {k: v for k, v in config.get("evaluator_options", {}).items() if k in CARRIED_OPTIONS}
    if epochs is not None:
        options["epochs"] = epochs
    trainer = make_evaluator("train", space=space, sources={"acc": "acc"}, state_dir=None, options=options, seed=config["seed"])
    epochs_used = str(trainer.training.epochs)
    chosen = front_table(history).rows[:top]
    header = ["rank", "arch", *(f"search_{n}" for n in history.names), "test_acc", "epochs", "seconds"]
    previous = read_retrain(run_dir)
    done = {(row[1], row[-2]): row for row in previous.rows} if previous and previous.header == header else {}
    uids = {r.arch: r.uid for r in history.rows}
    rows: dict[int, list[str]] = {}
    pending = []
    for rank, row in enumerate(chosen, start=1):
        arch, estimates = row[0], row[1 : 1 + len(history.names)]
        kept = done.get((arch, epochs_used))
        if kept is not None:
            rows[rank] = [str(rank), *kept[1:]]
        else:
            seed = retrain_seed(config["seed"], uids[arch])
            pending.append((rank, estimates, Candidate(uids[arch], space.decode(arch), arch, seed)))
    bar = tqdm(total=len(chosen), initial=len(chosen) - len(pending), unit="arch", desc="retrain", disable=not progress, leave=False)
    with Parallelism(jobs=jobs).open() as executor:
        results = executor.evaluate(trainer.retraining(), [c for _, _, c in pending])
        for (rank, estimates, candidate), result in zip(pending, results):
            rows[rank] = [str(rank), candidate.arch, *estimates, format_value(result.metrics["acc"]), epochs_used, f"{result.seconds:.1f}"]
            _write(run_dir, header, [rows[r] for r in sorted(rows)])
            bar.update(1)
    bar.close()
    table = Table(header, [rows[r] for r in sorted(rows)])
    _write(run_dir, header, table.rows)
    return table


def _write(run_dir: Path, header: list[str], rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows([header, *rows])
    atomic_write(Path(run_dir) / RETRAIN_FILE, buffer.getvalue())
