"""Where sweep tasks run: local processes, or an existing Dask cluster.

The engine maps a picklable function over items and hands each result to a callback
*as it finishes*, so the caller can persist it at once and lose nothing finished when
the run stops.  Locally it uses spawned processes (:class:`ProcessPoolExecutor`; a
pool broken by a dying worker is rebuilt for the unfinished items); with a scheduler
address or scheduler file it submits to ``dask.distributed`` with ``retries`` and
lets the scheduler move a dead worker's tasks elsewhere.  ``dask`` is imported only
when a cluster is asked for.

Example
-------
>>> got = []
>>> run_tasks(abs, [-1, 2, -3], workers=1, on_done=lambda x, r: got.append(r),
...           progress=False)
0
>>> sorted(got)
[1, 2, 3]
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ntp_mechanics.app.experiment.grid import SweepError

__all__ = ["CONNECT_TIMEOUT", "WORKER_TIMEOUT", "Cluster", "connect", "run_tasks"]

CONNECT_TIMEOUT = 10.0
"""Seconds to wait for a Dask scheduler before calling it unreachable."""
WORKER_TIMEOUT = 60.0
"""Seconds a cluster may have no worker, with tasks unfinished, before the run gives up."""
_POLL = 0.5  # seconds between looks at the cluster while nothing finishes

Done = Callable[[Any, Any], None]
Failed = Callable[[Any, BaseException], None]


@dataclass(frozen=True)
class Cluster:
    """A Dask scheduler, by address (``tcp://host:port``) or scheduler file."""

    address: str | None = None
    scheduler_file: str | None = None
    timeout: float = CONNECT_TIMEOUT
    worker_timeout: float = WORKER_TIMEOUT

    def __post_init__(self) -> None:
        for name in ("timeout", "worker_timeout"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                flag = "--" + name.replace("_", "-")
                raise SweepError(f"{flag} must be a positive number of seconds, got {value}")

    @property
    def where(self) -> str:
        return self.address or f"the scheduler file {self.scheduler_file}"


def worker_init() -> None:
    """Per-process set-up: one intra-op thread (tiny tensors gain nothing from more)."""
    import torch

    torch.set_num_threads(1)


def connect(cluster: Cluster) -> Any:
    """A ``distributed.Client`` on ``cluster``.

    Raises
    ------
    SweepError
        dask.distributed missing, the scheduler file missing, or no scheduler answering
        within ``cluster.timeout`` seconds.
    """
    try:
        from distributed import Client
    except ImportError:
        raise SweepError("a cluster needs dask.distributed: pip install 'dask[distributed]'"
                         ) from None
    if cluster.scheduler_file is not None and not os.path.isfile(cluster.scheduler_file):
        raise SweepError(f"no scheduler file {cluster.scheduler_file}")
    try:
        return Client(cluster.address, scheduler_file=cluster.scheduler_file,
                      timeout=cluster.timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise SweepError(f"cannot reach the Dask scheduler at {cluster.where} within "
                         f"{cluster.timeout:g} s ({type(exc).__name__})") from None


def run_tasks(fn: Callable[[Any], Any], items: Sequence[Any], *, workers: int = 2,
              cluster: Cluster | None = None, retries: int = 2,
              on_done: Done | None = None, on_error: Failed | None = None,
              progress: bool | None = None, desc: str = "sweep") -> int:
    """Run ``fn(item)`` for every item; call ``on_done(item, result)`` as each finishes.

    Parameters
    ----------
    fn : callable
        A module-level (picklable) function.
    items : sequence
        Its arguments, one task each.
    workers : int
        Local processes (1: in this process); ignored with ``cluster``.
    cluster : Cluster, optional
        Run on this Dask cluster instead.
    retries : int
        Extra attempts of a task that raised (Dask: a dead worker's tasks are moved
        anyway, up to ``distributed.scheduler.allowed-failures`` deaths) or whose local
        pool broke.
    on_done, on_error : callable, optional
        ``on_done(item, result)``; ``on_error(item, exception)`` for a task that raised
        (without ``on_error`` the exception propagates).
    progress : bool or None
        A tqdm bar; None shows it only on a terminal.
    desc : str
        The bar's label.

    Returns
    -------
    int
        The number of tasks that failed (reported to ``on_error``).

    Raises
    ------
    SweepError
        The cluster is unreachable, or has had no worker for ``cluster.worker_timeout``
        seconds while tasks were unfinished (those done so far went to ``on_done``).
    """
    from tqdm import tqdm

    bar = tqdm(total=len(items), desc=desc, unit="task",
               disable=None if progress is None else not progress)
    failures = 0

    def done(item: Any, result: Any = None, exc: BaseException | None = None) -> None:
        nonlocal failures
        if exc is not None:
            if on_error is None:
                raise exc
            failures += 1
            on_error(item, exc)
        elif on_done is not None:
            on_done(item, result)
        bar.update(1)

    with bar:
        if cluster is not None:
            _run_dask(fn, items, cluster, retries, done)
        elif workers <= 1:
            worker_init()
            for item in items:
                try:
                    result = fn(item)
                except Exception as exc:
                    done(item, exc=exc)
                else:
                    done(item, result)
        else:
            _run_local(fn, list(items), workers, retries, done)
    return failures


def _run_local(fn: Callable[[Any], Any], items: list[Any], workers: int, retries: int,
               done: Callable[..., None]) -> None:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    for attempt in range(retries + 1):
        broken: list[Any] = []
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"),
                                 initializer=worker_init) as pool:
            futures = {pool.submit(fn, item): item for item in items}
            for fut in as_completed(futures):
                try:
                    result = fut.result()
                except BrokenProcessPool as exc:
                    if attempt == retries:
                        done(futures[fut], exc=exc)
                    broken.append(futures[fut])
                except Exception as exc:
                    done(futures[fut], exc=exc)
                else:
                    done(futures[fut], result)
        if not broken or attempt == retries:
            return
        items = broken  # a worker died: rebuild the pool for what it took down


def _run_dask(fn: Callable[[Any], Any], items: Sequence[Any], cluster: Cluster, retries: int,
              done: Callable[..., None]) -> None:
    from distributed import TimeoutError as ResultTimeout  # asyncio's before Python 3.11
    from distributed import as_completed

    client = connect(cluster)
    try:
        futures = {client.submit(fn, item, pure=False, retries=retries): i
                   for i, item in enumerate(items)}
        pending, idle_since = as_completed(list(futures), loop=client.loop), None

        def no_worker() -> SweepError:
            return SweepError(
                f"the Dask cluster at {cluster.where} has had no worker for "
                f"{cluster.worker_timeout:g} s; {pending.count()} of {len(items)} "
                "tasks unfinished (finished ones are kept; re-run to resume)")

        def result(fut: Any) -> Any:
            # a finished task whose worker left before its result was fetched is computed
            # again: wait for that only while some worker can do it
            while True:
                try:
                    return fut.result(timeout=cluster.worker_timeout)
                except ResultTimeout:
                    if not client.nthreads():
                        raise no_worker() from None

        while not pending.is_empty():
            if pending.has_ready():
                for fut in pending.next_batch(block=False):
                    _hand_over(fut, items[futures[fut]], done, result)
                idle_since = None
                continue
            if client.nthreads():
                idle_since = None
            else:  # tasks wait and no worker is there to run them: a bounded wait only
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since > cluster.worker_timeout:
                    raise no_worker()
            time.sleep(_POLL)
    finally:
        client.close()


def _hand_over(fut: Any, item: Any, done: Callable[..., None],
               result: Callable[[Any], Any]) -> None:
    try:
        value = result(fut)
    except SweepError:
        raise
    except Exception as exc:
        done(item, exc=exc)
    else:
        done(item, value)
    fut.release()
