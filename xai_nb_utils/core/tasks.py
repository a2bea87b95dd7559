"""Run many cached tasks as a Dask graph: in-process, on a local cluster, or on an existing cluster elsewhere.

A task is a ``dask.delayed`` call whose function stores its result with :func:`core.cache.cached_result` (atomically, under a
key of its whole configuration), so a killed run resumes from the finished tasks and a warm rerun computes nothing.
``scheduler`` (or ``$XAI_DASK_SCHEDULER``): ``"local"`` (default) starts a ``LocalCluster`` on 127.0.0.1 (processes,
one thread each, one per core) for the duration of :func:`dask_client`; ``"sync"`` runs every task in this process
(debugging); ``"tcp://host:8786"`` uses a running cluster (``dask scheduler`` / ``dask worker tcp://host:8786``,
workers with this package installed and the same ``data/`` or ``$XAI_DATA_DIR``).
"""
import contextlib
import os

from xai_nb_utils.core.progress import tqdm


SCHEDULER_ENV = "XAI_DASK_SCHEDULER"


def scheduler_choice(scheduler: str | None = None) -> str:
    """``scheduler``, else ``$XAI_DASK_SCHEDULER``, else ``"local"``; checked."""
    value = scheduler or os.environ.get(SCHEDULER_ENV) or "local"
    if value in ("local", "sync") or (isinstance(value, str) and value.startswith("tcp://")):
        return value
    raise ValueError(f"parameter 'scheduler' must be 'local', 'sync' or a 'tcp://host:port' address of a running "
                     f"Dask scheduler (or set ${SCHEDULER_ENV}), got {value!r}")


@contextlib.contextmanager
def dask_client(scheduler: str | None = None, n_workers: int | None = None):
    """A ``distributed.Client`` for :func:`scheduler_choice` (None for ``"sync"``), closed on exit together with
    the local cluster it started, if any."""
    choice = scheduler_choice(scheduler)
    if choice == "sync":
        yield None
        return
    from distributed import Client, LocalCluster

    if choice == "local":
        with LocalCluster(n_workers=n_workers or os.cpu_count(), threads_per_worker=1, processes=True,
                          host="127.0.0.1", dashboard_address=None) as cluster, Client(cluster) as client:
            yield client
    else:
        with Client(choice) as client:
            yield client


def compute(tasks: dict, client=None, desc: str = "tasks", priority: dict | None = None) -> dict:
    """Compute ``tasks`` (name -> delayed value) on ``client`` (None: in this process, one after the other; a task
    several of them depend on runs once) with a progress bar over ``tasks``; returns name -> result. On a client,
    ``priority`` (name -> int, default 0) starts higher ones first, with what they depend on."""
    if client is None:
        import dask
        from dask.callbacks import Callback

        wanted = {task.key for task in tasks.values()}
        with tqdm(total=len(tasks), desc=desc) as bar, \
                Callback(posttask=lambda key, result, dsk, state, worker: bar.update(key in wanted)):
            return dict(zip(tasks, dask.compute(*tasks.values(), scheduler="sync")))
    from distributed import as_completed

    priority = priority or {}
    names, futures = [], []
    for level in sorted({priority.get(name, 0) for name in tasks}, reverse=True):
        group = [name for name in tasks if priority.get(name, 0) == level]
        names += group
        futures += client.compute([tasks[name] for name in group], priority=level)
    for _ in tqdm(as_completed(futures), total=len(futures), desc=desc):
        pass
    results = dict(zip(names, client.gather(futures)))
    return {name: results[name] for name in tasks}


def run_calls(fn, calls: dict, scheduler: str | None = "sync", desc: str = "tasks") -> dict:
    """``{name: fn(*args)}`` for ``calls`` (name -> args), computed as one Dask graph on ``scheduler`` (see
    :func:`dask_client`; ``"sync"``: here, one after the other): how a notebook's heavy loop of independent calls
    runs on a local or remote cluster."""
    import dask

    with dask_client(scheduler) as client:
        return compute({name: dask.delayed(fn, pure=False)(*args) for name, args in calls.items()}, client, desc)
