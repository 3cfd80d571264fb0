"""Where the stages' tasks run: in this process one after another, or on Ray.

A task is a module-level function and its arguments; what crosses between stages goes
through files in the work folder, so a task's result is small (counts, paths) except
where a stage says otherwise."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol


def measured(function: Callable[..., Any], *arguments: Any) -> tuple[Any, int]:
    """A worker's task: its result and the peak memory (resident bytes) of the worker
    while it ran.  Linux resets the high-water mark on request, so each task is measured
    alone even in a worker that ran others before (elsewhere: the worker's peak so far)."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        pass
    result = function(*arguments)
    return result, peak_memory()


def peak_memory() -> int:
    """This process's peak resident memory in bytes (since the last reset, on Linux)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class Executor(Protocol):
    """Runs tasks, and gives their results in the order of the tasks; ``peak`` is the
    largest peak memory of one task of the last ``run``."""

    workers: int
    peak: int

    def run(self, function: Callable[..., Any], tasks: Sequence[tuple[Any, ...]]) -> Iterator[Any]: ...

    def close(self) -> None: ...


class InProcess:
    """Every task here, in order: the reference the other executors must agree with."""

    workers = 1
    peak = 0

    def run(self, function: Callable[..., Any], tasks: Sequence[tuple[Any, ...]]) -> Iterator[Any]:
        self.peak = 0
        for arguments in tasks:  # the process's own peak is left as it is: it is the run's
            yield function(*arguments)
            self.peak = max(self.peak, peak_memory())

    def close(self) -> None:
        return None


class EngineError(Exception):
    """A problem the user can act on (Ray missing, a cluster not reachable)."""


class OnRay:
    """Tasks as Ray remote functions, on a cluster (``address``) or on a Ray instance
    started for the run on this machine.  Results come back in task order, each as soon
    as it and those before it are done; at most ``2 * workers`` tasks are in flight, so
    that a stage of many tasks does not hold every result in the object store."""

    def __init__(self, address: str | None = None, num_cpus: int | None = None) -> None:
        try:
            import ray
        except ImportError:
            raise EngineError("--engine ray needs Ray: pip install 'dedup-articles[ray]'") from None
        self.ray = ray
        self.started = not ray.is_initialized()
        address = address or os.environ.get("RAY_ADDRESS") or None
        self.local = self.started and address is None  # a Ray started for this run, on this machine
        if self.started:
            try:
                ray.init(
                    address=address or "local",  # "local": a new Ray, even when one runs on this machine
                    num_cpus=None if address else num_cpus,
                    include_dashboard=False,
                    logging_level=logging.ERROR,
                    log_to_driver=False,
                    configure_logging=False,
                )
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise EngineError(f"cannot connect to Ray at {address}: {exc}") from None
        self.workers = max(1, int(ray.cluster_resources().get("CPU", 1)))  # type: ignore[no-untyped-call]
        self.peak = 0
        self._remote = ray.remote(measured)

    def run(self, function: Callable[..., Any], tasks: Sequence[tuple[Any, ...]]) -> Iterator[Any]:
        self.peak = 0
        pending: list[Any] = []
        window = 2 * self.workers
        for arguments in tasks:
            pending.append(self._remote.remote(function, *arguments))
            if len(pending) > window:
                yield self._taken(pending.pop(0))
        for reference in pending:
            yield self._taken(reference)

    def _taken(self, reference: Any) -> Any:
        result, peak = self.ray.get(reference)
        self.peak = max(self.peak, peak)
        return result

    def close(self) -> None:
        if self.started and self.ray.is_initialized():
            self.ray.shutdown()
