"""Evaluating a generation's candidates in parallel: in this process, on local processes (loky), on a Dask or Ray cluster.

An `Executor` runs `Evaluator.evaluate_one` on every candidate of a generation and yields the
evaluations in the candidates' order, whatever the backend. Each evaluation depends only on the
evaluator's state and the candidate's own seed, so a run's results do not depend on the backend or
the number of workers.

The evaluator reaches the workers once, not once per candidate: it is pickled once per generation
and identified by the hash of its bytes (its *token*); each worker process keeps the evaluator of the
latest token it has seen and unpickles a new one only when the token changes. An evaluator whose
state does not change between generations (a trained supernet, a table) is therefore shipped once per
run. The bytes travel as a temporary file for local processes, as data scattered to every worker on
Dask (``Client.scatter``) and as an object in Ray's object store (``ray.put``).

Cheap evaluations are batched: once the seconds an evaluation takes are known, several candidates go
in one task, so that a task lasts about `TASK_SECONDS` (a round trip to a worker costs about a
millisecond). An evaluator that declares itself `Evaluator.in_process` (a table lookup, microseconds)
is evaluated in the search's own process by every executor: workers could only slow it down.

Faults: an evaluation that raises, gives a non-finite metric or a status other than "ok", or whose
worker dies, is tried once more; if it fails again it is recorded with status ``failed: <reason>``.
A cluster that cannot be reached, or is lost mid-generation, raises `ClusterError`.
"""

from __future__ import annotations

import abc
import contextlib
import ctypes
import ctypes.util
import dataclasses
import hashlib
import logging
import math
import os
import pickle
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evonas.errors import ClusterError, ConfigError
from evonas.evaluators.base import Candidate, Evaluation, Evaluator

BACKENDS = ("loky", "dask", "ray")
TASK_SECONDS = 0.2
ATTEMPTS = 2
REASON_CHARACTERS = 200


@dataclass(frozen=True)
class Parallelism:
    """How a run's evaluations are executed (not what they compute: it may change when a run resumes).

    Attributes:
        backend: "loky" (local processes; ``jobs`` 1 evaluates in this process), "dask" (an existing
            Dask cluster, ``pip install 'evonas[dask]'``) or "ray" (``pip install 'evonas[ray]'``).
        jobs: worker processes of the loky backend.
        address: the Dask scheduler's address (``tcp://host:8786``), or the Ray cluster's (``host:6379``,
            ``auto``; none: the Ray instance this process already runs, or a new local one).
    """

    backend: str = "loky"
    jobs: int = 1
    address: str | None = None

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ConfigError(f"unknown backend {self.backend!r}; known: {', '.join(BACKENDS)}")
        if self.jobs < 1:
            raise ConfigError(f"--jobs must be at least 1, got {self.jobs}")
        if self.backend != "loky" and self.jobs != 1:
            raise ConfigError(f"--jobs applies to the loky backend; a {self.backend} cluster evaluates on all its workers")
        if self.backend == "dask" and not self.address:
            raise ConfigError("the dask backend needs --scheduler ADDRESS (a running dask scheduler, e.g. tcp://127.0.0.1:8786)")
        if self.backend == "loky" and self.address:
            raise ConfigError(f"--scheduler/--address {self.address!r} needs --backend dask or ray")

    def open(self) -> Executor:
        """The executor, connected to its cluster; `ClusterError` if that cannot be reached."""
        if self.backend == "dask":
            return DaskExecutor(self.address)
        if self.backend == "ray":
            return RayExecutor(self.address)
        return LokyExecutor(self.jobs) if self.jobs > 1 else InProcessExecutor()


@dataclass(frozen=True)
class Outcome:
    """One attempt at one candidate: its evaluation, or why it failed (then ``evaluation`` may hold partial metrics)."""

    evaluation: Evaluation | None
    failure: str | None = None


def one_line(text: str) -> str:
    """``text`` on one line, at most `REASON_CHARACTERS` long."""
    line = " ".join(str(text).split())
    return line if len(line) <= REASON_CHARACTERS else line[: REASON_CHARACTERS - 3] + "..."


def attempt(evaluator: Evaluator, candidate: Candidate) -> Outcome:
    """``evaluator.evaluate_one(candidate)``, timed, with a raised exception or a non-finite metric as its failure."""
    started = time.perf_counter()
    try:
        evaluation = evaluator.evaluate_one(candidate)
    except Exception as error:  # any failure of one evaluation is recorded, and the run goes on
        return Outcome(None, one_line(f"{type(error).__name__}: {error}"))
    if not evaluation.seconds:
        evaluation = dataclasses.replace(evaluation, seconds=time.perf_counter() - started)
    not_finite = [name for name, value in evaluation.metrics.items() if not math.isfinite(value)]
    if not_finite:
        return Outcome(evaluation, one_line(f"{', '.join(not_finite)} not finite"))
    if evaluation.status != "ok":
        return Outcome(evaluation, one_line(evaluation.status))
    return Outcome(evaluation)


# -- the worker's side ---------------------------------------------------------------------------
_worker_evaluators: dict[str, Evaluator] = {}
_worker_lock = threading.Lock()  # a worker process with several threads measures one candidate at a time


# glibc's mallopt parameters, and the most its dynamic thresholds would reach on a 64-bit machine
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD_MAX = 32 * 2**20


def unfreeze_allocator() -> bool:
    """Gives a worker started with ``MALLOC_TRIM_THRESHOLD_`` set the allocator thresholds of one started without it.

    Dask's nanny starts every worker with ``MALLOC_TRIM_THRESHOLD_=65536`` (its default
    ``distributed.nanny.pre-spawn-environ``), and a LocalCluster leaves it in the environment of its
    own process, whose later children (loky workers) inherit it. Setting the variable also freezes
    glibc's mmap threshold at 128 KiB, so every tensor above that size is mapped and unmapped anew
    and torch evaluates networks about 2.5 times slower (benchmarks/RESULTS.md, issue 14). This sets
    the thresholds glibc's dynamic rule would have reached. Returns whether it changed anything
    (nothing where the variable is unset or the C library is not glibc).
    """
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX)) and bool(mallopt(M_TRIM_THRESHOLD, 2 * MMAP_THRESHOLD_MAX))


def evaluate_batch(token: str, fetch: Callable[[Any], bytes], source: Any, batch: Sequence[Candidate]) -> tuple[list[Outcome], bool]:
    """Runs in a worker: the outcomes of ``batch``, and whether the evaluator had to be loaded for it.

    The worker keeps the evaluator of the latest ``token``; ``fetch(source)`` gives its pickled bytes.
    """
    with _worker_lock:
        loaded = token not in _worker_evaluators
        if loaded:
            unfreeze_allocator()
            _worker_evaluators.clear()
            evaluator = pickle.loads(fetch(source))
            evaluator.on_worker()
            _worker_evaluators[token] = evaluator
        evaluator = _worker_evaluators[token]
        return [attempt(evaluator, candidate) for candidate in batch], loaded


def _read_file(path: str) -> bytes:
    return Path(path).read_bytes()


def _as_given(data: bytes) -> bytes:
    return data


def _from_ray(references: list) -> bytes:
    import ray

    return ray.get(references[0])


class WorkerLost(Exception):
    """The worker running a task died (the task's candidates are tried again)."""


# -- the driver's side ---------------------------------------------------------------------------
class Executor(abc.ABC):
    """Evaluates candidates on some workers; `evaluate` batches, retries and keeps the order.

    Attributes:
        workers: evaluations that can run at once.
        loads: times a worker loaded an evaluator (for measuring that shared state travels once).
    """

    workers: int = 1

    def __init__(self) -> None:
        self.loads = 0
        self._token: str | None = None
        self._seconds_per_evaluation: float | None = None

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Releases what the executor holds (it does not stop a cluster it did not start)."""

    @abc.abstractmethod
    def _share(self, token: str, data: bytes) -> None:
        """Makes the pickled evaluator ``data`` available to the workers under ``token``."""

    @abc.abstractmethod
    def _submit(self, batch: Sequence[Candidate]) -> Any:
        """Starts evaluating ``batch`` with the shared evaluator; returns a handle for `_result`."""

    @abc.abstractmethod
    def _result(self, handle: Any) -> tuple[list[Outcome], bool]:
        """Waits for a task; `WorkerLost` if its worker died, `ClusterError` if the cluster is gone."""

    def ship(self, evaluator: Evaluator) -> None:
        """Makes ``evaluator`` (its current state) the one the workers evaluate with."""
        data = pickle.dumps(evaluator, protocol=pickle.HIGHEST_PROTOCOL)
        token = hashlib.sha256(data).hexdigest()[:24]
        if token != self._token:
            self._share(token, data)
            self._token = token

    def evaluate(self, evaluator: Evaluator, candidates: Sequence[Candidate]) -> Iterator[Evaluation]:
        """One `Evaluation` per candidate, in order, each yielded as soon as it and those before it are done.

        A candidate that fails twice gets status ``failed: <reason>``, NaN for the metrics it lacks.
        """
        if not candidates:
            return
        if evaluator.in_process and not isinstance(self, InProcessExecutor):
            yield from InProcessExecutor().evaluate(evaluator, candidates)
            return
        self.ship(evaluator)
        size = self._batch_size(len(candidates))
        batches = [candidates[i : i + size] for i in range(0, len(candidates), size)]
        handles = [self._submit(batch) for batch in batches]
        for batch, handle in zip(batches, handles):
            for candidate, outcome in zip(batch, self._outcomes(handle, len(batch))):
                for _ in range(ATTEMPTS - 1):
                    if outcome.failure is None:
                        break
                    outcome = self._outcomes(self._submit([candidate]), 1)[0]
                yield self._recorded(evaluator, outcome)

    def _outcomes(self, handle: Any, size: int) -> list[Outcome]:
        try:
            outcomes, loaded = self._result(handle)
        except WorkerLost as lost:
            return [Outcome(None, one_line(f"worker lost: {lost}"))] * size
        self.loads += loaded
        seconds = [o.evaluation.seconds for o in outcomes if o.evaluation is not None]
        if seconds:
            self._seconds_per_evaluation = sum(seconds) / len(seconds)
        return outcomes

    def _batch_size(self, candidates: int) -> int:
        """Candidates per task: one while evaluations are slow or their cost unknown, else enough for `TASK_SECONDS`."""
        if self._seconds_per_evaluation is None:
            return 1
        by_cost = int(TASK_SECONDS / max(self._seconds_per_evaluation, 1e-9))
        return max(1, min(by_cost, math.ceil(candidates / self.workers)))

    @staticmethod
    def _recorded(evaluator: Evaluator, outcome: Outcome) -> Evaluation:
        if outcome.failure is None:
            return outcome.evaluation
        metrics = dict.fromkeys(evaluator.sources, math.nan)
        seconds = 0.0
        if outcome.evaluation is not None:
            metrics.update(outcome.evaluation.metrics)
            seconds = outcome.evaluation.seconds
        return Evaluation(metrics, status=f"failed: {outcome.failure}", seconds=seconds)


class InProcessExecutor(Executor):
    """Evaluates in this process, one candidate after another (``--jobs 1``); nothing is pickled."""

    def ship(self, evaluator: Evaluator) -> None:
        self._evaluator = evaluator

    def _share(self, token: str, data: bytes) -> None:
        raise AssertionError("an in-process executor shares nothing")

    def _submit(self, batch: Sequence[Candidate]) -> Any:
        return batch  # evaluated when its result is asked for, so results arrive one by one

    def _result(self, handle: Any) -> tuple[list[Outcome], bool]:
        return [attempt(self._evaluator, candidate) for candidate in handle], False

    def _batch_size(self, candidates: int) -> int:
        return 1


class LokyExecutor(Executor):
    """``jobs`` local worker processes of its own (joblib's loky), started with the first task, kept for the run."""

    def __init__(self, jobs: int) -> None:
        super().__init__()
        self.workers = jobs
        self._folder = Path(tempfile.mkdtemp(prefix="evonas-evaluator-"))
        self._path: Path | None = None
        self._pool = None

    def _share(self, token: str, data: bytes) -> None:
        path = self._folder / f"{token}.pickle"
        path.write_bytes(data)
        if self._path is not None:
            self._path.unlink(missing_ok=True)
        self._path = path

    def _submit(self, batch: Sequence[Candidate]) -> Any:
        from concurrent.futures.process import BrokenProcessPool

        from joblib.externals.loky import ProcessPoolExecutor

        for fresh in (False, True):
            if self._pool is None:
                self._pool = ProcessPoolExecutor(max_workers=self.workers)
            try:
                return self._pool, self._pool.submit(evaluate_batch, self._token, _read_file, str(self._path), list(batch))
            except BrokenProcessPool:  # a worker died since the last task was handed out: a new pool, once
                if fresh:
                    raise
                self._pool = None

    def _result(self, handle: Any) -> tuple[list[Outcome], bool]:
        from concurrent.futures.process import BrokenProcessPool

        pool, future = handle
        try:
            return future.result()
        except BrokenProcessPool as error:  # a worker died: every task in flight is lost, the pool with it
            if pool is self._pool:
                self._pool = None
            raise WorkerLost(str(error).split(". ")[0] or type(error).__name__) from None  # loky's first sentence says it

    def close(self) -> None:
        if self._pool is not None:  # after an interruption, evaluations still running are not waited for
            self._pool.shutdown(wait=True, kill_workers=True)
        shutil.rmtree(self._folder, ignore_errors=True)


class DaskExecutor(Executor):
    """The workers of a running Dask cluster; the evaluator is scattered to all of them."""

    def __init__(self, address: str) -> None:
        super().__init__()
        try:
            from distributed import Client
        except ImportError:
            raise ConfigError("the dask backend needs dask.distributed: pip install 'evonas[dask]'") from None
        self.address = address
        logging.getLogger("distributed.client").setLevel(logging.CRITICAL)  # a lost scheduler is reported once: ClusterError
        try:
            self.client = Client(address, timeout="5s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as error:
            raise ClusterError(f"cannot reach the dask scheduler at {address}: {one_line(str(error))}") from None
        self.workers = max(1, sum(self.client.nthreads().values()))
        self._data = None

    def _share(self, token: str, data: bytes) -> None:
        try:
            self._data = self.client.scatter(data, broadcast=True, hash=False)
        except Exception as error:  # the scheduler went away between generations
            raise ClusterError(f"lost the dask scheduler at {self.address}: {one_line(str(error))}") from None

    def _submit(self, batch: Sequence[Candidate]) -> Any:
        return self.client.submit(evaluate_batch, self._token, _as_given, self._data, list(batch), pure=False)

    def _result(self, handle: Any) -> tuple[list[Outcome], bool]:
        from distributed import KilledWorker

        try:
            return handle.result()
        except KilledWorker as error:
            raise WorkerLost(one_line(str(error))) from None
        except Exception as error:  # cancelled futures, closed comms: the scheduler is gone
            if self.client.status == "running":
                raise WorkerLost(one_line(f"{type(error).__name__}: {error}")) from None
            raise ClusterError(f"lost the dask scheduler at {self.address}: {one_line(f'{type(error).__name__}: {error}')}") from None

    def close(self) -> None:
        with contextlib.suppress(Exception):  # closing a client whose scheduler is gone may raise; nothing is left to release
            self.client.close()


def _check_reachable(address: str | None) -> None:
    """`ClusterError` unless ``host:port`` accepts a connection within 5 s (``ray.init`` would retry for minutes)."""
    if address in (None, "auto", "local"):
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except (OSError, ValueError) as error:
        raise ClusterError(f"cannot reach the ray cluster at {address}: {one_line(str(error))}") from None


class RayExecutor(Executor):
    """The workers of a Ray cluster; the evaluator goes into its object store once."""

    def __init__(self, address: str | None) -> None:
        super().__init__()
        try:
            import ray
        except ImportError:
            raise ConfigError("the ray backend needs ray: pip install 'evonas[ray]'") from None
        self.address = address or "a local instance"
        self._started = False
        _check_reachable(address)
        if not ray.is_initialized():
            try:
                ray.init(address=address or "local", logging_level="ERROR", log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as error:
                hint = " (a cluster with token authentication needs RAY_AUTH_MODE=token)" if address not in (None, "auto") else ""
                raise ClusterError(f"cannot reach the ray cluster at {address}: {one_line(str(error))}{hint}") from None
            self._started = True
        self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))
        self._remote = ray.remote(num_cpus=1, max_retries=0)(evaluate_batch)
        self._data = None

    def _share(self, token: str, data: bytes) -> None:
        import ray

        self._data = [ray.put(data)]  # in a list: a task receives the reference, fetched only on a cache miss

    def _submit(self, batch: Sequence[Candidate]) -> Any:
        return self._remote.remote(self._token, _from_ray, self._data, list(batch))

    def _result(self, handle: Any) -> tuple[list[Outcome], bool]:
        import ray

        try:
            return ray.get(handle)
        except (ray.exceptions.WorkerCrashedError, ray.exceptions.NodeDiedError) as error:
            raise WorkerLost(one_line(str(error))) from None
        except ray.exceptions.RayError as error:
            raise ClusterError(f"lost the ray cluster at {self.address}: {one_line(f'{type(error).__name__}: {error}')}") from None

    def close(self) -> None:
        if self._started:
            import ray

            ray.shutdown()
