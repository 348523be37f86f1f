"""How many threads the NumPy path may use, and the pool it runs them on.

NumPy's ufuncs release the GIL, so the blocks of a large NumPy call run on a small thread pool: the
calling thread and the pool's threads each take the next block until none is left.

The thread count is, in order of precedence:

1. ``paddlefocal.set_num_threads(n)``;
2. the environment variable ``PADDLEFOCAL_NUM_THREADS``, read on first use: a positive integer in ASCII
   digits, surrounding whitespace allowed (``" 4 "``); anything else, an empty value included, warns
   and is ignored;
3. the default, ``min(usable CPUs, 8)``, where the usable CPUs are those this process may run on
   (``os.sched_getaffinity``, else ``os.cpu_count()``): beyond 8 threads the loss waits on memory.

A call uses at most one thread per four blocks of the NumPy kernel (a block is 32768 elements in
float32, 16384 in float64) and none below eight blocks, so small inputs stay on the calling thread.
It runs single-threaded whatever the count when it is made:

* from any thread other than the main thread (Dask's threaded scheduler and ``dask.distributed``
  workers run tasks in their own threads, and so do the caller's own thread pools), or
* in a process started by ``multiprocessing`` (a torch ``DataLoader`` worker, a ``multiprocessing.Pool``
  worker, Dask's process scheduler),

because such calls come in numbers that already occupy the cores; threads on top would oversubscribe
them. Results do not depend on the thread count: the blocks are fixed slices of the input, and their
sums are added exactly.

>>> import paddlefocal
>>> previous = paddlefocal.get_num_threads()
>>> paddlefocal.set_num_threads(1)
>>> paddlefocal.get_num_threads()
1
>>> paddlefocal.set_num_threads(previous)
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

__all__ = ["ENV_VAR", "get_num_threads", "set_num_threads"]

#: The environment variable that sets the thread count (read on first use).
ENV_VAR = "PADDLEFOCAL_NUM_THREADS"
#: The default never exceeds this: the loss is a few passes over two arrays, and more threads than
#: this wait on memory bandwidth rather than compute.
DEFAULT_MAX = 8

_lock = threading.Lock()
_num_threads: int | None = None  # None: not resolved yet (environment, then default)
_pool: ThreadPoolExecutor | None = None
_pool_size = 0


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _default() -> int:
    raw = os.environ.get(ENV_VAR)
    if raw is not None:
        # int() would also take "1_0", "+4" and non-ASCII digits ("٣"); the docs promise ASCII.
        text = raw.strip(" \t\n\r")
        if text.isascii() and text.isdigit() and int(text) >= 1:
            return int(text)
        warnings.warn(
            f"{ENV_VAR} must be a positive integer, but is {raw!r}; using the default",
            RuntimeWarning,
            stacklevel=4,
        )
    return min(_usable_cpus(), DEFAULT_MAX)


def get_num_threads() -> int:
    """The most threads a NumPy call of paddlefocal uses.

    Returns
    -------
    int
        The count set by ``set_num_threads``, else by the environment variable
        ``PADDLEFOCAL_NUM_THREADS``, else ``min(usable CPUs, 8)``.

    Notes
    -----
    Calls made from a thread other than the main thread, or in a process started by
    ``multiprocessing`` (a torch ``DataLoader`` worker, say), and calls on small inputs run
    single-threaded whatever this count is.
    """
    global _num_threads
    value = _num_threads
    if value is None:
        with _lock:
            if _num_threads is None:
                _num_threads = _default()
            value = _num_threads
    return value


def set_num_threads(n: int) -> None:
    """Set the most threads a NumPy call of paddlefocal uses, for this process.

    Parameters
    ----------
    n : int
        A positive integer; 1 makes every call single-threaded. It overrides the environment variable
        ``PADDLEFOCAL_NUM_THREADS``.

    Raises
    ------
    TypeError
        If ``n`` is not an int (a bool or a float, say).
    ValueError
        If ``n`` is smaller than 1.
    """
    global _num_threads
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(
            f"set_num_threads: 'n' must be a positive int, but received {type(n).__name__} {n!r}"
        )
    if n < 1:
        raise ValueError(f"set_num_threads: 'n' must be a positive int, but received {n!r}")
    with _lock:
        _num_threads = n


def _in_worker_context() -> bool:
    """Whether this call is one of many that already occupy the cores (see the module docstring)."""
    if threading.current_thread() is not threading.main_thread():
        return True
    # A process that multiprocessing started has imported it; importing it here would cost 5 ms.
    mp = sys.modules.get("multiprocessing")
    return mp is not None and mp.parent_process() is not None


def threads_for(n_elements: int, min_elements: int, most: int | None = None) -> int:
    """How many threads a call over ``n_elements`` uses: one per ``min_elements`` at most, and one
    below twice that; never more than ``most`` (the caller's library's own count, say)."""
    if n_elements < 2 * min_elements:
        return 1
    wanted = min(get_num_threads(), n_elements // min_elements)
    if most is not None:
        wanted = min(wanted, most)
    if wanted <= 1 or _in_worker_context():
        return 1
    return wanted


def _executor(workers: int) -> ThreadPoolExecutor:
    from concurrent.futures import ThreadPoolExecutor  # on first threaded call: 5 ms of imports

    global _pool, _pool_size
    with _lock:
        if _pool is None or _pool_size < workers:
            old = _pool
            _pool = ThreadPoolExecutor(workers, thread_name_prefix="paddlefocal")
            _pool_size = workers
            if old is not None:
                old.shutdown(wait=False)
        return _pool


def _forget_pool_in_child() -> None:
    # A forked child inherits the pool object but not its threads.
    global _pool, _pool_size
    _pool, _pool_size = None, 0


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_in_child)


def run_all(tasks: Sequence[Callable[[], None]]) -> None:
    """Run ``tasks``: the first on the calling thread, the others on the pool; re-raise any error."""
    if len(tasks) == 1:
        tasks[0]()
        return
    pool = _executor(len(tasks) - 1)
    futures = [pool.submit(task) for task in tasks[1:]]
    try:
        tasks[0]()
    finally:
        for future in futures:
            future.result()
