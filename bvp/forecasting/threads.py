"""Threads a model may use: one per job by default (BVP_MODEL_THREADS).

Operators run one worker per core. A library that starts a thread per core in every
job (OpenMP in LightGBM, BLAS under numpy and scikit-learn, numba) makes each worker
fight the others and the API for every core: measured, a boosted fit took 6.2 s per
origin with all threads against 1.3 s with one, on a machine running one worker per
core. The worker sets the limit once, before any model library loads or any job
forks, and every job applies it again through threadpoolctl.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from threadpoolctl import ThreadpoolController, threadpool_limits

VARIABLE = "BVP_MODEL_THREADS"
NATIVE_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def model_threads() -> int:
    """The limit this process runs models with (1 unless the worker was told more)."""
    return max(1, int(os.environ.get(VARIABLE, "1")))


def limit_process_threads(threads: int) -> None:
    """For a worker, before it loads a model library or forks a job."""
    os.environ[VARIABLE] = str(threads)
    for name in NATIVE_VARIABLES:
        os.environ[name] = str(threads)
    threadpool_limits(threads)


@contextmanager
def model_thread_limit() -> Iterator[int]:
    """Run a job's models within the limit (also for libraries loaded by the job)."""
    threads = model_threads()
    with _controller().limit(limits=threads):
        yield threads


_found: tuple[int, ThreadpoolController] | None = None


def _controller() -> ThreadpoolController:
    """The thread pools of the native libraries loaded in this process. Finding them
    scans every shared object loaded (2 ms, a fifth of a forecast from a stored model),
    so the scan is done again only when Python has imported more modules since, as it
    does when a job loads a model library."""
    global _found
    if _found is None or _found[0] != len(sys.modules):
        controller = ThreadpoolController()
        _found = (len(sys.modules), controller)
    return _found[1]
