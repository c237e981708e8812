"""`RunStore`: the run directory on disk (see README, "The run directory"), written so a crash loses nothing
that a resume would trust, and read so that nothing changed underneath a run is trusted.

Every file is replaced atomically (temporary file, fsync, ``os.replace``, fsync of the folder);
``evaluations.csv`` is append-only and each generation file records how many of its bytes belong to
the run and their sha256, so a resume cuts off rows written after the last complete generation and
falls back to an earlier generation when that prefix no longer matches. ``run.json`` carries a
fingerprint of what the results depend on (its own result-defining content, the evaluator's input
files); a lock file keeps a second process out while a run is open. Nothing is pickled.
"""

from __future__ import annotations

import contextlib
import csv
import fcntl
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
LOCK_FILE = ".lock"
# Keys of run.json that describe a run without deciding what it computes: versions (of evonas, of the plug-ins it
# used: `evonas.plugins`) and the fingerprint itself.
DESCRIPTIVE = ("schema_version", "evonas_version", "fingerprint", "plugins")
# Keys of run.json that do not decide a run's results: the descriptive ones, and the budget
# (`evonas resume --generations/--evaluations` extends a run).
UNFINGERPRINTED = (*DESCRIPTIVE, "generations", "evaluations")
# Evaluator options that decide where the work runs, not what it gives.
UNFINGERPRINTED_OPTIONS = ("jobs", "backend")
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
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as error:  # the old file stays as it was; no temporary is left behind
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(error, OSError):
            raise CheckpointError(f"cannot write {path}: {error.strerror or error}") from None
        raise
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


def config_digest(config: dict[str, Any]) -> str:
    """Checksum of the part of a run's configuration that decides its results (not `UNFINGERPRINTED`)."""
    defining = {k: v for k, v in config.items() if k not in UNFINGERPRINTED}
    options = defining.get("evaluator_options")
    if isinstance(options, dict):
        defining["evaluator_options"] = {k: v for k, v in options.items() if k not in UNFINGERPRINTED_OPTIONS}
    return _checksum(defining)


def input_digest(source: Path | str) -> dict[str, str]:
    """What identifies one input of an evaluator: a file's or folder's path and sha256, or an embedded dataset's name."""
    if not isinstance(source, Path):
        return {"embedded": str(source)}
    digest = hashlib.sha256()
    try:
        if source.is_dir():
            for path in sorted(p for p in source.rglob("*") if p.is_file()):
                digest.update(str(path.relative_to(source)).encode("utf-8") + b"\0" + _file_sha256(path).encode("ascii"))
        else:
            digest = hashlib.sha256(source.read_bytes())
    except OSError as error:
        raise CheckpointError(f"cannot read {source}: {error.strerror or error}") from None
    return {"path": str(source), "sha256": digest.hexdigest()}


def _described(digest: dict[str, str] | None) -> str:
    if not digest:
        return "none"
    if "embedded" in digest:
        return f"embedded {digest['embedded']}"
    return f"{digest.get('path')} sha256 {str(digest.get('sha256'))[:12]}"


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fingerprint(config: dict[str, Any], inputs: dict[str, Path | str]) -> dict[str, Any]:
    """What a run's results depend on: its configuration's `config_digest` and each input's `input_digest`."""
    return {"config": config_digest(config), "inputs": {name: input_digest(source) for name, source in sorted(inputs.items())}}


def fingerprint_digest(config: dict[str, Any]) -> str | None:
    """Checksum of ``run.json``'s fingerprint, recorded in every generation file (None for a run from before
    fingerprints)."""
    recorded = config.get("fingerprint")
    return None if recorded is None else _checksum({"fingerprint": recorded})


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


_INT = "a non-negative integer"
_GENERATION_FIELDS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "generation": (_is_count, _INT),
    "next_uid": (_is_count, _INT),
    "evaluated": (_is_count, _INT),
    "exhausted": (lambda v: isinstance(v, bool), "true or false"),
    "evaluator_seconds": (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v), "a number"),
    "evaluations_csv": (
        lambda v: isinstance(v, dict) and _is_count(v.get("bytes")) and isinstance(v.get("sha256"), str) and len(v["sha256"]) == 64,
        "{bytes, sha256}",
    ),
    "population": (lambda v: isinstance(v, list) and all(_is_count(u) for u in v), "a list of uids"),
    "fingerprint": (lambda v: isinstance(v, str), "a checksum"),
}


def check_generation_fields(document: dict[str, Any], path: Path) -> None:
    """`CheckpointError` naming the first field of a generation file that is missing or of the wrong type
    (a file forged with a valid checksum must not reach the search as a traceback)."""
    for name, (valid, expected) in _GENERATION_FIELDS.items():
        if name == "fingerprint" and name not in document:  # written by an evonas from before fingerprints
            continue
        if name not in document or not valid(document[name]):
            raise CheckpointError(f"{path}: field {name!r} is {document.get(name, 'missing')!r}, expected {expected}")
    if document["generation"] != int(path.stem):
        raise CheckpointError(f"{path}: field 'generation' is {document['generation']}, but the file is named for {int(path.stem)}")


def _left_by_create(path: Path) -> bool:
    """Whether ``path`` is what `RunStore.create` makes before ``run.json`` (a creation killed midway): an empty
    ``generations/`` or ``evaluator/``, or an ``evaluations.csv`` holding its header at most."""
    if path.name in (GENERATIONS_DIR, EVALUATOR_DIR):
        return path.is_dir() and not any(path.iterdir())
    return path.name == EVALUATIONS_FILE and path.is_file() and path.read_bytes().count(b"\n") <= 1


@dataclass(frozen=True)
class RestorePoint:
    """What a run directory holds that can be trusted: the newest generation whose file passes its checks and
    whose recorded prefix of ``evaluations.csv`` is intact.

    Attributes:
        state: that generation file's content, or None if no generation can be trusted.
        committed: the rows of that prefix.
        tail: complete rows written after it, reusable by a resume; empty whenever anything was
            found altered, since such rows may have been altered too.
        size: bytes of ``evaluations.csv`` the prefix holds.
    """

    state: dict[str, Any] | None
    committed: list[EvaluationRow]
    tail: list[EvaluationRow]
    size: int


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
        self._lock: io.TextIOWrapper | None = None

    # -- creating and opening ----------------------------------------------------------------
    @classmethod
    def create(
        cls, path: Path, config: dict[str, Any], metric_names: Sequence[str], inputs: dict[str, Path | str] | None = None
    ) -> RunStore:
        """Makes a new run directory holding ``config`` and its `fingerprint` (with the evaluator's ``inputs``),
        and locks it; refuses a folder that holds anything else."""
        path = Path(path).absolute()
        if path.exists() and not path.is_dir():
            raise CheckpointError(f"run directory {path} exists and is not a directory")
        cls._refuse_existing(path, config)
        store = cls(path)
        try:
            path.mkdir(parents=True, exist_ok=True)
            store.lock()
            cls._refuse_existing(path, config)  # another process may have created it meanwhile
            (path / GENERATIONS_DIR).mkdir(exist_ok=True)
            (path / EVALUATOR_DIR).mkdir(exist_ok=True)
            header = ",".join([*LEADING_COLUMNS, *metric_names, *TRAILING_COLUMNS])
            atomic_write(path / EVALUATIONS_FILE, header + "\n")
            document = {"schema_version": SCHEMA_VERSION, "evonas_version": __version__, **config}
            document["fingerprint"] = fingerprint(document, inputs or {})
            atomic_write(path / RUN_FILE, json.dumps(document, indent=2, sort_keys=True) + "\n")
        except OSError as error:
            store.close()
            raise CheckpointError(f"cannot write run directory {path}: {error.strerror or error}") from None
        except CheckpointError:
            store.close()
            raise
        store._metric_names = list(metric_names)
        return store

    @classmethod
    def _refuse_existing(cls, path: Path, config: dict[str, Any]) -> None:
        if is_run_dir(path):
            same = cls(path).holds(config)
            hint = "resume it with `evonas resume`" if same else "choose another --run-dir"
            raise CheckpointError(f"{path} already holds {'this' if same else 'a different'} run; {hint}")
        if path.is_dir() and any(not p.name.startswith(".") and not _left_by_create(p) for p in path.iterdir()):
            raise CheckpointError(f"{path} is not empty and holds no run; choose another --run-dir")

    def holds(self, config: dict[str, Any]) -> bool:
        """Whether this directory's run was started with ``config`` (versions, plug-in records and fingerprint aside)."""
        existing = self.read_config()
        return {k: v for k, v in existing.items() if k not in DESCRIPTIVE} == {k: v for k, v in config.items() if k != "plugins"}

    @classmethod
    def open(cls, path: Path) -> RunStore:
        """An existing run directory; `CheckpointError` if ``path`` is not one."""
        path = Path(path).absolute()
        if not is_run_dir(path):
            raise CheckpointError(f"{path} is not an evonas run directory (no {RUN_FILE})")
        return cls(path)

    # -- the lock --------------------------------------------------------------------------------
    def lock(self) -> None:
        """Takes the run directory's exclusive lock (``flock`` on `LOCK_FILE`) until `close` or the process ends.

        A second process that tries while the lock is held gets a `CheckpointError`; a process that
        dies (even by SIGKILL) releases the lock with its open files, so a stale lock file blocks nothing.
        """
        if self._lock is not None:
            return
        handle = open(self.path / LOCK_FILE, "a+", encoding="ascii")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read(32).strip()
            handle.close()
            raise CheckpointError(
                f"{self.path} is in use by another evonas process{f' (pid {holder})' if holder else ''}; wait for it to end"
            ) from None
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._lock = handle

    def close(self) -> None:
        """Releases the lock (if this store holds it)."""
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    # -- run.json --------------------------------------------------------------------------------
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

    def check_config(self, config: dict[str, Any]) -> None:
        """`CheckpointError` in one line if ``run.json`` (read as ``config``) no longer matches the fingerprint
        written when the run started; a run from before fingerprints is not checked."""
        recorded = config.get("fingerprint")
        if recorded is not None and (not isinstance(recorded, dict) or recorded.get("config") != config_digest(config)):
            raise CheckpointError(
                f"{self.path / RUN_FILE} was edited since the run started (its seed, objectives, constraints or options "
                "differ from its fingerprint); its results would mix two runs: start a new run instead"
            )

    def check_inputs(self, config: dict[str, Any], inputs: dict[str, Path | str]) -> None:
        """`CheckpointError` in one line if an input of the evaluator (a table, a dataset) changed since the run
        started, by the fingerprint in ``run.json`` (read as ``config``)."""
        recorded = config.get("fingerprint")
        if not isinstance(recorded, dict):
            return
        now = fingerprint(config, inputs)["inputs"]
        for name, before in sorted(recorded.get("inputs", {}).items()):
            if now.get(name) != before:
                raise CheckpointError(
                    f"the {name} changed since the run started (was {_described(before)}, now {_described(now.get(name))}); "
                    "its results would mix old and new values: start a new run instead"
                )

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
        try:
            with open(self.path / EVALUATIONS_FILE, "a", encoding="utf-8", newline="") as handle:
                handle.write(buffer.getvalue())
        except OSError as error:  # a partly written line is dropped on resume
            raise CheckpointError(f"cannot write {self.path / EVALUATIONS_FILE}: {error.strerror or error}") from None

    def sync_evaluations(self) -> tuple[int, str]:
        """Makes ``evaluations.csv`` durable; returns its size and the sha256 of its content."""
        path = self.path / EVALUATIONS_FILE
        with open(path, "rb") as handle:
            data = handle.read()
            os.fsync(handle.fileno())
        return len(data), hashlib.sha256(data).hexdigest()

    def truncate_evaluations(self, size: int) -> None:
        """Cuts ``evaluations.csv`` back to ``size`` bytes (rows of an unfinished generation)."""
        path = self.path / EVALUATIONS_FILE
        with open(path, "r+b") as handle:
            handle.truncate(size)
            handle.flush()
            os.fsync(handle.fileno())

    def _parse_rows(self, data: bytes, *, header: bool) -> list[EvaluationRow]:
        where = f"{self.path / EVALUATIONS_FILE}{'' if header else ' (after the last checkpoint)'}"
        try:
            reader = csv.reader(io.StringIO(data.decode("utf-8")))
        except UnicodeDecodeError as error:
            raise CheckpointError(f"{where} is not UTF-8 text: {error.reason}") from None
        if header:
            next(reader, None)
        names = self.metric_names
        rows = []
        for line_number, fields in enumerate(reader, start=2 if header else 1):
            if len(fields) != 7 + len(names):
                raise CheckpointError(f"{where}: line {line_number} has {len(fields)} fields")
            try:
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
            except ValueError as error:
                raise CheckpointError(f"{where}: line {line_number}: {error}") from None
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
        """One generation file, checked; `CheckpointError` if missing, truncated, altered or ill-typed."""
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
        check_generation_fields(document, path)
        return document

    def restore_point(self, warn: Callable[[str], None] | None = None) -> RestorePoint:
        """The newest generation that passes its checks and whose recorded prefix of ``evaluations.csv``
        still matches, with the rows of that prefix (see `RestorePoint`).

        A file newer than ``LATEST`` is complete (it was renamed into place whole) and is used: a
        crash can fall between the two renames. Skipped generations (a corrupt file, a truncated or
        edited ``evaluations.csv``) are reported in one ``warn(message)``. Reads only; changes nothing.
        """
        path = self.path / EVALUATIONS_FILE
        try:
            data = path.read_bytes()
        except OSError as error:
            raise CheckpointError(f"{path} is unreadable: {error.strerror}") from None
        names = sorted((p.name for p in (self.path / GENERATIONS_DIR).glob("[0-9]*.json")), reverse=True)
        skipped: list[str] = []
        state, committed, size = None, [], None
        for name in names:
            try:
                state = self.load_generation(name)
                record = state["evaluations_csv"]
                prefix = data[: record["bytes"]]
                if len(prefix) < record["bytes"] or hashlib.sha256(prefix).hexdigest() != record["sha256"]:
                    raise CheckpointError(f"{path} does not match {name} (truncated or edited)")
                committed, size = self._parse_rows(prefix, header=True), record["bytes"]
                break
            except CheckpointError as error:
                state = None
                skipped.append(str(error))
        if size is None:
            header = data[: data.find(b"\n") + 1]
            if not header or self._parse_rows(header, header=True):
                raise CheckpointError(f"{path} has no valid header")
            size = len(header)
        if skipped and warn:
            to = f"generation {state['generation']}" if state else "the start of the run"
            more = f" ({len(skipped)} generations skipped)" if len(skipped) > 1 else ""
            warn(f"{skipped[0]}; falling back to {to}{more}")
        return RestorePoint(state, committed, [] if skipped else self._tail(data, size, warn), size)

    def _tail(self, data: bytes, size: int, warn: Callable[[str], None] | None) -> list[EvaluationRow]:
        """The complete rows after the first ``size`` bytes (a partly written last line is dropped)."""
        tail = data[size:]
        try:
            return self._parse_rows(tail[: tail.rfind(b"\n") + 1], header=False)
        except CheckpointError as error:
            if warn:
                warn(f"{error}; those rows will be evaluated again")
            return []

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
