"""Notebook 08's graph on a local Dask cluster with 1 and with 2 workers: the speed-up and the time outside tasks.

    python benchmarks/bench_dask.py [--profile default] [--methods a b ...] [--images N]

Each run starts from an empty task cache (a temporary ``XAI_TASK_CACHE_DIR``; the trained models and DRE estimators
are loaded from the shared cache, so both runs do the same work) and prints its wall time; then the speed-up
1 worker / 2 workers (target >= 1.6 on 2 cores) and, per run, the share of worker time spent outside the tasks
(scheduling, serialisation, idle waiting): 1 - (sum of task durations) / (wall time x workers).
"""
import argparse
import os
import tempfile
import time

from xai_nb_utils.core.tasks import compute, dask_client
from xai_nb_utils.studies import cross_benchmark as study


def timed_run(config, n_workers: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tasks:
        os.environ["XAI_TASK_CACHE_DIR"] = tasks  # the local cluster's worker processes inherit it
        with dask_client("local", n_workers) as client:
            from distributed import get_task_stream

            with get_task_stream(client) as stream:
                start = time.perf_counter()
                compute(study.benchmark_graph(config), client, desc=f"{n_workers} worker(s)")
                wall = time.perf_counter() - start
        in_tasks = sum(part["stop"] - part["start"] for task in stream.data for part in task["startstops"]
                       if part["action"] == "compute")
    return wall, 1 - in_tasks / (wall * n_workers)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="default", choices=["smoke", "default"])
    parser.add_argument("--methods", nargs="*", default=None)
    parser.add_argument("--images", type=int, default=None)
    args = parser.parse_args()
    config = study.benchmark_config(args.profile, methods=args.methods, n_images=args.images)
    for model_name in config.models:  # trained (or loaded) before the clock starts
        study.test_split(config, model_name)
    runs = {n: timed_run(config, n) for n in (1, 2)}
    print(f"notebook 08 graph, profile {args.profile}: {len(config.methods)} methods, {config.n_images} images "
          f"per model, {len(study.benchmark_graph(config))} metric tasks")
    for n, (wall, outside) in runs.items():
        print(f"{n} worker(s): {wall:.1f} s, {outside:.0%} of worker time outside the tasks")
    print(f"speed-up 1 -> 2 workers: {runs[1][0] / runs[2][0]:.2f}x (target >= 1.6)")


if __name__ == "__main__":
    main()
