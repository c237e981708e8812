"""`RunStore`: the run directory on disk (see README, "The run directory"), written so a crash loses nothing
that a resume would trust.

Every file is replaced atomically (temporary file, fsync, ``os.replace``, fsync of the folder);
``evaluations.csv`` is append-only and each generation file records how many of its bytes belong to
the run, so a resume cuts off rows written after the last complete generation. Nothing is pickled.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evonas import __version__
from evonas.errors import CheckpointError, ConfigError

SCHEMA_VERSION = 1
RUN_FILE = "run.json"
LATEST_FILE = "LATEST"
EVALUATIONS_FILE = "evaluations.csv"
FRONT_FILE = "front.csv"
GENERATIONS_DIR = "generations"
EVALUATOR_DIR = "evaluator"
PLOTS_DIR = "plots"
RETRAIN_FILE = "retrain.csv"
SEEDS_FILE = "seeds.json"
# The columns of evaluations.csv around the metrics: no metric may take one of these names.
LEADING_COLUMNS = ("generation", "uid", "arch", "parents", "operator", "status")
TRAILING_COLUMNS = ("seconds",)


def format_value(value: float) -> str:
    """A float as CSV text that parses back to the same float: integers without ``.0``, NaN empty."""
    if math.isnan(value):
        return ""
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


def parse_value(text: str) -> float:
    return float(text) if text else math.nan


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes | str) -> None:
    """Writes ``path`` whole or not at all."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def output_path(path: Path) -> Path:
    """``path`` checked before the work that fills it: `ConfigError` naming it if a file cannot be written there
    (a folder in the way, a file where a folder should be, no permission). Creates nothing: missing folders
    are made by the writer, once there is something to write."""
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"cannot write {path}: it is a folder")
    folder = path.absolute().parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise ConfigError(f"cannot write {path}: {folder} is not a folder")
    if not os.access(folder, os.W_OK):
        raise ConfigError(f"cannot write {path}: no permission to write in {folder}")
    return path


def _checksum(payload: dict[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def is_run_dir(path: Path) -> bool:
    return (Path(path) / RUN_FILE).is_file()


@dataclass(frozen=True)
class EvaluationRow:
    """One line of ``evaluations.csv``."""

    generation: int
    uid: int
    arch: str
    parents: tuple[int, ...]
    operator: str
    status: str
    metrics: dict[str, float]
    seconds: float


class RunStore:
    """Reads and writes one run directory.

    Use `create` for a new run and `open` for an existing one.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._metric_names: list[str] | None = None

    # -- creating and opening ----------------------------------------------------------------
    @classmethod
    def create(cls, path: Path, config: dict[str, Any], metric_names: Sequence[str]) -> RunStore:
        """Makes a new run directory holding ``config``; refuses a folder that holds anything else."""
        path = Path(path).absolute()
        if path.exists() and not path.is_dir():
            raise CheckpointError(f"run directory {path} exists and is not a directory")
        if is_run_dir(path):
            existing = cls(path).read_config()
            same = {k: v for k, v in existing.items() if k not in ("evonas_version", "schema_version")} == config
            hint = "resume it with `evonas resume`" if same else "choose another --run-dir"
            raise CheckpointError(f"{path} already holds {'this' if same else 'a different'} run; {hint}")
        if path.is_dir() and any(not p.name.startswith(".") for p in path.iterdir()):
            raise CheckpointError(f"{path} is not empty and holds no run; choose another --run-dir")
        try:
            (path / GENERATIONS_DIR).mkdir(parents=True, exist_ok=True)
            (path / EVALUATOR_DIR).mkdir(exist_ok=True)
            store = cls(path)
            header = ",".join([*LEADING_COLUMNS, *metric_names, *TRAILING_COLUMNS])
            atomic_write(path / EVALUATIONS_FILE, header + "\n")
            document = {"schema_version": SCHEMA_VERSION, "evonas_version": __version__, **config}
            atomic_write(path / RUN_FILE, json.dumps(document, indent=2, sort_keys=True) + "\n")
        except OSError as error:
            raise CheckpointError(f"cannot write run directory {path}: {error.strerror or error}") from None
        store._metric_names = list(metric_names)
        return store

    @classmethod
    def open(cls, path: Path) -> RunStore:
        """An existing run directory; `CheckpointError` if ``path`` is not one."""
        path = Path(path).absolute()
        if not is_run_dir(path):
            raise CheckpointError(f"{path} is not an evonas run directory (no {RUN_FILE})")
        return cls(path)

    def read_config(self) -> dict[str, Any]:
        try:
            config = json.loads((self.path / RUN_FILE).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise CheckpointError(f"{self.path / RUN_FILE} is unreadable: {error}") from None
        if config.get("schema_version") != SCHEMA_VERSION:
            raise CheckpointError(
                f"{self.path / RUN_FILE} has schema_version {config.get('schema_version')!r}; this evonas reads {SCHEMA_VERSION}"
            )
        return config

    def update_config(self, changes: dict[str, Any]) -> None:
        """Rewrites ``run.json`` with ``changes`` applied (used when a finished run is extended)."""
        config = self.read_config()
        config.update(changes)
        atomic_write(self.path / RUN_FILE, json.dumps(config, indent=2, sort_keys=True) + "\n")

    @property
    def evaluator_dir(self) -> Path:
        return self.path / EVALUATOR_DIR

    # -- evaluations.csv -----------------------------------------------------------------------
    @property
    def metric_names(self) -> list[str]:
        if self._metric_names is None:
            with open(self.path / EVALUATIONS_FILE, encoding="utf-8", newline="") as handle:
                header = next(csv.reader(handle), None)
            if not header or tuple(header[: len(LEADING_COLUMNS)]) != LEADING_COLUMNS:
                raise CheckpointError(f"{self.path / EVALUATIONS_FILE} has no valid header")
            self._metric_names = header[len(LEADING_COLUMNS) : -len(TRAILING_COLUMNS)]
        return self._metric_names

    def append_evaluations(self, rows: Iterable[EvaluationRow]) -> None:
        """Appends rows and flushes them to the OS (`sync_evaluations` makes them durable)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        for row in rows:
            writer.writerow(
                [
                    row.generation,
                    row.uid,
                    row.arch,
                    " ".join(str(p) for p in row.parents),
                    row.operator,
                    row.status,
                    *(format_value(row.metrics.get(name, math.nan)) for name in self.metric_names),
                    f"{row.seconds:.6f}",
                ]
            )
        with open(self.path / EVALUATIONS_FILE, "a", encoding="utf-8", newline="") as handle:
            handle.write(buffer.getvalue())

    def sync_evaluations(self) -> tuple[int, str]:
        """Makes ``evaluations.csv`` durable; returns its size and the sha256 of its content."""
        path = self.path / EVALUATIONS_FILE
        with open(path, "rb") as handle:
            data = handle.read()
            os.fsync(handle.fileno())
        return len(data), hashlib.sha256(data).hexdigest()

    def read_evaluations(self, size: int | None = None, sha256: str | None = None) -> tuple[list[EvaluationRow], list[EvaluationRow]]:
        """The rows of ``evaluations.csv``: those in its first ``size`` bytes, and the complete ones after.

        With ``sha256``, the first ``size`` bytes must match it (the checkpoint's record).
        """
        path = self.path / EVALUATIONS_FILE
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CheckpointError(f"{path} is unreadable: {error.strerror}") from None
        size = len(data) if size is None else size
        committed = data[:size]
        if len(committed) < size or (sha256 is not None and hashlib.sha256(committed).hexdigest() != sha256):
            raise CheckpointError(f"{path} does not match its checkpoint (truncated or edited)")
        tail = data[size:]
        tail = tail[: tail.rfind(b"\n") + 1]  # drop a partly written last line
        return self._parse_rows(committed.decode("utf-8"), header=True), self._parse_rows(tail.decode("utf-8"), header=False)

    def truncate_evaluations(self, size: int) -> None:
        """Cuts ``evaluations.csv`` back to ``size`` bytes (rows of an unfinished generation)."""
        path = self.path / EVALUATIONS_FILE
        with open(path, "r+b") as handle:
            handle.truncate(size)
            handle.flush()
            os.fsync(handle.fileno())

    def _parse_rows(self, text: str, *, header: bool) -> list[EvaluationRow]:
        reader = csv.reader(io.StringIO(text))
        if header:
            next(reader, None)
        names = self.metric_names
        rows = []
        for line_number, fields in enumerate(reader, start=2 if header else 1):
            if len(fields) != 7 + len(names):
                raise CheckpointError(f"{self.path / EVALUATIONS_FILE}: line {line_number} has {len(fields)} fields")
            rows.append(
                EvaluationRow(
                    generation=int(fields[0]),
                    uid=int(fields[1]),
                    arch=fields[2],
                    parents=tuple(int(p) for p in fields[3].split()),
                    operator=fields[4],
                    status=fields[5],
                    metrics={name: parse_value(v) for name, v in zip(names, fields[6:-1])},
                    seconds=float(fields[-1]),
                )
            )
        return rows

    # -- generations -----------------------------------------------------------------------------
    def write_generation(self, generation: int, payload: dict[str, Any]) -> None:
        """Writes ``generations/NNNNNN.json`` with a checksum, then points ``LATEST`` at it."""
        document = {"schema_version": SCHEMA_VERSION, "generation": generation, **payload}
        document["checksum"] = _checksum(document)
        name = f"{generation:06d}.json"
        atomic_write(self.path / GENERATIONS_DIR / name, json.dumps(document, indent=1) + "\n")
        atomic_write(self.path / LATEST_FILE, name + "\n")

    def load_generation(self, name: str) -> dict[str, Any]:
        """One generation file, checked; `CheckpointError` if missing, truncated or altered."""
        path = self.path / GENERATIONS_DIR / name
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise CheckpointError(f"{path} is unreadable: {error}") from None
        if not isinstance(document, dict) or document.get("schema_version") != SCHEMA_VERSION:
            raise CheckpointError(f"{path} has an unknown schema")
        checksum = document.pop("checksum", None)
        if checksum != _checksum(document):
            raise CheckpointError(f"{path} fails its checksum")
        return document

    def load_latest(self, warn: Callable[[str], None] | None = None) -> dict[str, Any] | None:
        """The newest generation file that passes its checksum, or None if no generation was completed.

        A file newer than ``LATEST`` is complete (it was renamed into place whole) and is used: a
        crash can fall between the two renames. ``warn(message)`` hears about skipped files.
        """
        names = sorted((p.name for p in (self.path / GENERATIONS_DIR).glob("[0-9]*.json")), reverse=True)
        for name in names:
            try:
                return self.load_generation(name)
            except CheckpointError as error:
                if warn:
                    warn(f"{error}; falling back to an earlier generation")
        return None

    def discard_generations_after(self, generation: int) -> None:
        """Removes generation files newer than ``generation`` (left by a run that is being rolled back)."""
        for path in (self.path / GENERATIONS_DIR).glob("[0-9]*.json"):
            if path.stem.isdigit() and int(path.stem) > generation:
                path.unlink()
        for path in self.path.rglob(".*.tmp"):
            path.unlink()

    # -- seeds of generation 0 --------------------------------------------------------------------
    def write_seeds(self, archs: Sequence[str]) -> None:
        """Records the evaluator's proposals for generation 0 (arch strings, best first)."""
        atomic_write(self.path / SEEDS_FILE, json.dumps({"schema_version": SCHEMA_VERSION, "archs": list(archs)}, indent=1) + "\n")

    def read_seeds(self) -> list[str] | None:
        """The recorded proposals for generation 0, or None if none were asked for yet."""
        path = self.path / SEEDS_FILE
        if not path.is_file():
            return None
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            archs = document["archs"]
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError) as error:
            raise CheckpointError(f"{path} is unreadable: {error}") from None
        if not isinstance(archs, list) or not all(isinstance(a, str) for a in archs):
            raise CheckpointError(f"{path} does not hold a list of architecture strings")
        return archs

    # -- front -----------------------------------------------------------------------------------
    def write_front(self, objective_names: Sequence[str], rows: Iterable[tuple[str, Sequence[float]]]) -> None:
        """Rewrites ``front.csv``: ``arch`` then one column per objective."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["arch", *objective_names])
        for arch, values in rows:
            writer.writerow([arch, *(format_value(v) for v in values)])
        atomic_write(self.path / FRONT_FILE, buffer.getvalue())

    def read_front(self) -> tuple[list[str], list[tuple[str, list[float]]]]:
        path = self.path / FRONT_FILE
        if not path.is_file():
            raise CheckpointError(f"{path} does not exist yet (no generation completed)")
        with open(path, encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            rows = [(r[0], [parse_value(v) for v in r[1:]]) for r in reader]
        return header[1:], rows
